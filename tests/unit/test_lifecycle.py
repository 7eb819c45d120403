"""``ge._lifecycle``: the exit phases in their fixed order, whatever the order hooks
were registered in, and the wiped native state (the epoch and the forget hooks)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from ge import _lifecycle
from ge._lifecycle import ExitPhase


@pytest.fixture
def fresh_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty hook table (the package's own hooks stay registered outside the test)."""
    monkeypatch.setattr(_lifecycle, "_hooks", {phase: [] for phase in ExitPhase})
    monkeypatch.setattr(_lifecycle, "_exiting", False)
    monkeypatch.setattr(_lifecycle, "_abandoned", False)
    monkeypatch.setattr(_lifecycle, "exit_deadline", None)


def _recorder(log: list[str], name: str) -> Callable[[], None]:
    return lambda: log.append(name)


def test_the_phases_are_named_in_cann_s_order() -> None:
    assert [phase.name for phase in sorted(ExitPhase)] == [
        "CLOSE_SESSIONS",
        "FINALIZE_GE",
        "RELEASE_ACL_OBJECTS",
        "FINALIZE_ACL",
    ]


@pytest.mark.usefixtures("fresh_hooks")
def test_hooks_run_by_phase_whatever_the_order_they_were_registered_in() -> None:
    log: list[str] = []
    for phase in reversed(ExitPhase):  # the last phase registered first
        _lifecycle.at_exit(phase, _recorder(log, f"{phase.name} 1"))
        _lifecycle.at_exit(phase, _recorder(log, f"{phase.name} 2"))
    _lifecycle._run_exit_hooks()
    assert log == [f"{phase.name} {n}" for phase in sorted(ExitPhase) for n in (1, 2)]
    assert _lifecycle.exiting()


@pytest.mark.usefixtures("fresh_hooks")
def test_a_failing_hook_does_not_stop_the_others() -> None:
    log: list[str] = []

    def fails() -> None:
        log.append("fails")
        raise KeyboardInterrupt  # even this: nobody is left to report to

    _lifecycle.at_exit(ExitPhase.CLOSE_SESSIONS, fails)
    _lifecycle.at_exit(ExitPhase.CLOSE_SESSIONS, _recorder(log, "next"))
    _lifecycle.at_exit(ExitPhase.FINALIZE_ACL, _recorder(log, "last"))
    _lifecycle._run_exit_hooks()
    assert log == ["fails", "next", "last"]


@pytest.mark.usefixtures("fresh_hooks")
def test_a_phase_is_an_exit_phase() -> None:
    with pytest.raises(ValueError):
        _lifecycle.at_exit(7, lambda: None)  # type: ignore[arg-type]
    _lifecycle.at_exit(2, lambda: None)  # type: ignore[arg-type]  # its value is fine
    assert [phase for phase, _ in _lifecycle.exit_hooks()] == [ExitPhase.FINALIZE_GE]


def test_the_package_registers_one_hook_per_phase() -> None:
    import ge  # noqa: F401 - every module that registers a hook

    hooks = [
        (phase, f"{hook.__module__}.{hook.__qualname__}") for phase, hook in _lifecycle.exit_hooks()
    ]
    assert hooks == [
        (ExitPhase.CLOSE_SESSIONS, "ge.ge_global.geapi._close_sessions_at_exit"),
        (ExitPhase.FINALIZE_GE, "ge.ge_global.geapi._finalize_at_exit"),
        (ExitPhase.RELEASE_ACL_OBJECTS, "ge._acl_state._release_at_exit"),
        (ExitPhase.FINALIZE_ACL, "ge.acl._runtime._finalize_at_exit"),
    ]


def test_forgetting_the_native_state_starts_a_new_epoch_and_runs_every_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log: list[int] = []
    monkeypatch.setattr(_lifecycle, "_forget_hooks", [])
    _lifecycle.on_forget(lambda: log.append(_lifecycle.native_epoch))
    _lifecycle.on_forget(lambda: log.append(-1))
    before = _lifecycle.native_epoch
    try:
        _lifecycle.forget_native_state()
        assert _lifecycle.native_epoch == before + 1
        assert log == [before + 1, -1]  # the hooks see the new epoch
    finally:
        _lifecycle.native_epoch = before  # no object of this test outlives it


def test_waits_during_the_exit_hooks_end_at_their_deadline(monkeypatch: Any) -> None:
    """A wait for another thread's finalize (or a call in flight) at exit gives up at
    the deadline and abandons the rest of the teardown, instead of hanging."""
    import threading
    import time

    condition = threading.Condition()
    monkeypatch.setattr(_lifecycle, "_abandoned", False)
    monkeypatch.setattr(_lifecycle, "exit_deadline", time.monotonic() + 0.05)
    start = time.monotonic()
    with condition:
        assert _lifecycle.wait_at_exit(condition) is False
    assert time.monotonic() - start < 5 and _lifecycle._abandoned
