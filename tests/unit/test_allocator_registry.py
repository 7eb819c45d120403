"""``ge._allocator_registry``: its API, driven directly against the stand-in (which
GE calls it makes, what it records, what it reports)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import ge
from ge._allocator_registry import Registry, registry
from ge._ffi import api
from ge._ffi import status as S
from ge.allocator import AclAllocator
from ge.error import GeError


@pytest.fixture
def session(ge_ready: Any) -> Iterator[ge.Session]:
    with ge.Session() as session:
        yield session


def test_ensure_default_registers_ges_default_once(session: ge.Session, stream: Any) -> None:
    s = stream.handle
    assert registry.trampoline_of(s) is None and s not in registry.streams()
    assert registry.ensure_default(session, session.session_id, s) is None
    assert registry.current[s].session_id == session.session_id
    assert registry.current[s].trampoline is None  # GE's own allocator
    assert api.GeApiWrapper_HasExternalAllocator(stream)
    registry.ensure_default(session, session.session_id, s)  # already there
    assert registry.owned_by(session.session_id) == [s]


def test_ensure_default_leaves_an_allocator_registered_by_other_code(
    session: ge.Session, stream: Any, ge_stub: Any
) -> None:
    s = stream.handle
    other = ge.Session()  # registers through the API of its own, unseen by the registry
    try:
        assert api.GeApiWrapper_Session_RegisterDefaultAllocator(other, stream) == 0
        assert registry.ensure_default(session, session.session_id, s) is None
        assert s not in registry.current
        assert api.GeApiWrapper_Session_UnregisterExternalAllocator(other, stream) == 0
    finally:
        other.close()


def test_ensure_default_failure_is_a_ge_error(
    session: ge.Session, stream: Any, ge_stub: Any
) -> None:
    ge_stub.fail_next("GeApiWrapper_Session_RegisterDefaultAllocator", S.FAILED)
    with pytest.raises(GeError) as info:
        registry.ensure_default(session, session.session_id, stream.handle)
    assert info.value.api_name == "RegisterDefaultAllocator"
    assert stream.handle not in registry.current


def test_register_and_unregister(session: ge.Session, stream: Any, ge_stub: Any) -> None:
    s = stream.handle
    status, errors = registry.register(session, session.session_id, s, AclAllocator())
    assert (status, errors) == (0, [])
    trampoline = registry.trampoline_of(s)
    assert trampoline is not None and registry.alive[trampoline.token] is trampoline
    assert registry.unregister(session, s) == []
    assert s not in registry.current
    assert trampoline.destroyed and trampoline.token not in registry.alive  # OnDestroy came
    assert registry.unregister(session, s) == []  # nothing registered: GE agrees
    registry.register(session, session.session_id, s, AclAllocator())
    ge_stub.fail_next("GeApiWrapper_Session_UnregisterExternalAllocator", S.FAILED)
    errors = registry.unregister(session, s)
    assert len(errors) == 1 and isinstance(errors[0], GeError)
    assert (errors[0].api_name, errors[0].status) == ("UnregisterExternalAllocator", S.FAILED)
    assert registry.current[s].session_id == session.session_id  # still registered


def test_a_refused_registration_keeps_nothing(
    session: ge.Session, stream: Any, ge_stub: Any
) -> None:
    ge_stub.fail_next("GeApiWrapper_Session_RegisterExternalAllocator", S.FAILED)
    before = set(registry.alive)
    status, errors = registry.register(session, session.session_id, stream.handle, AclAllocator())
    assert status == S.FAILED and errors == []
    assert set(registry.alive) == before and stream.handle not in registry.current


def test_release_owned_unregisters_only_what_the_session_owns(
    session: ge.Session, ge_ready: Any
) -> None:
    mine, theirs = ge.acl.Stream(), ge.acl.Stream()
    other = ge.Session()
    try:
        registry.register(session, session.session_id, mine.handle, AclAllocator())
        registry.register(other, other.session_id, theirs.handle, AclAllocator())
        owned, errors = registry.release_owned(session, session.session_id)
        assert (owned, errors) == ([mine.handle], [])
        assert registry.streams() == [theirs.handle]
    finally:
        other.close()  # releases what it owns
        mine.destroy()
        theirs.destroy()
    assert registry.streams() == []


def test_unregister_all_before_finalize(session: ge.Session, stream: Any, ge_stub: Any) -> None:
    assert registry.unregister_all_before_finalize() == []  # nothing: no session made
    registry.register(session, session.session_id, stream.handle, AclAllocator())
    sessions = ge_stub.live_counts()["ge_sessions"]
    assert registry.unregister_all_before_finalize() == []
    assert registry.streams() == []
    assert ge_stub.live_counts()["ge_sessions"] == sessions  # its own session is gone


def test_deferred_exceptions_and_the_graveyard() -> None:
    own = Registry()
    first, second = ValueError("a"), KeyError("b")
    own.defer(1, first)
    own.defer(2, second)
    own.defer(1, second)
    assert own.take_deferred(1) == [first, second] and own.take_deferred(1) == []
    own.defer(3, first)
    assert own.take_all_deferred() == [second, first] and own.take_all_deferred() == []
    released: list[int] = []
    fake: Any = type(
        "T", (), {"token": 5, "blocks": {}, "release": lambda self: released.append(self.token)}
    )()
    own.alive[5] = fake
    own.retire(fake)
    assert 5 not in own.alive and own._graveyard == [fake]
    own.bury()
    assert own._graveyard == [] and released == [5]  # its callbacks back to the pool
    own.current[1] = None  # type: ignore[assignment]
    own.defer(1, first)
    own.forget()
    assert (own.current, own.alive, own._deferred) == ({}, {}, {})


def test_register_runs_idle_work_outside_the_lock(session: ge.Session, stream: Any) -> None:
    """Leaving the outermost collecting block runs idle work (a deferred release,
    whose FreeFn is user code): never with the registry's lock held."""
    from ge import _callback_errors

    held: list[bool] = []
    work = lambda: held.append(registry.lock._is_owned())  # noqa: E731
    _callback_errors.when_idle(work)
    status, errors = registry.register(session, session.session_id, stream.handle, AclAllocator())
    assert status == 0 and errors == []
    _callback_errors.when_idle(work)
    assert registry.unregister(session, stream.handle) == []
    assert held == [False, False]
