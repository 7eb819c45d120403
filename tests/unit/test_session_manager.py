"""``ge._session_manager``: GE's process state (the initialised flag, the session ids,
the live sessions, held weakly), on a manager of its own (no native library)."""

from __future__ import annotations

import gc
import threading

from _helpers.threads import run_threads

from ge._session_manager import SessionManager


class FakeSession:
    """What the manager keeps: something weakly referenceable with ``_forget``."""

    def __init__(self) -> None:
        self.forgotten = False

    def _close(self, finalizing: bool) -> None:
        pass

    def _refuse_inside_allocator(self) -> None:
        pass

    def _forget(self) -> None:
        self.forgotten = True


def test_ids_increase_and_are_never_reused() -> None:
    manager = SessionManager()
    a, b = FakeSession(), FakeSession()
    first = manager.add(a)
    manager.remove(first)
    second = manager.add(b)
    assert (first, second) == (1, 2)
    assert not manager.has_session(first) and manager.has_session(second)
    manager.remove(99)  # unknown: harmless


def test_live_sessions_oldest_first_and_only_while_referenced() -> None:
    manager = SessionManager()
    sessions = [FakeSession() for _ in range(3)]
    ids = [manager.add(s) for s in sessions]
    assert manager.live_sessions() == sessions
    dropped = sessions.pop(1)
    del dropped
    gc.collect()
    assert manager.live_sessions() == sessions
    assert not manager.has_session(ids[1])


def test_forget_marks_every_session_and_the_flag() -> None:
    manager = SessionManager()
    manager.initialized = True
    sessions = [FakeSession(), FakeSession()]
    for s in sessions:
        manager.add(s)
    manager.forget()
    assert all(s.forgotten for s in sessions)
    assert manager.live_sessions() == [] and not manager.initialized


def test_ids_from_many_threads_are_unique() -> None:
    manager = SessionManager()
    keep: list[FakeSession] = []
    ids: list[int] = []
    lock = threading.Lock()

    def add() -> None:
        for _ in range(200):
            session = FakeSession()
            got = manager.add(session)
            with lock:
                keep.append(session)
                ids.append(got)

    run_threads(add, [()] * 4)
    assert sorted(ids) == list(range(1, 801))
    assert len(manager.live_sessions()) == 800
