"""``ge._callback_errors``: an exception raised inside a C callback reaches the
Python call that caused it (the innermost ``collecting`` block of its thread),
else a fallback; and every exception raised by callbacks during one call reaches
the user, on every supported Python: as ``__notes__`` (by hand before 3.11) and,
where tracebacks do not print notes (before 3.11), in the printed message too."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from ge._callback_errors import collecting, preferred, raise_first, raise_with, report, when_idle
from ge.error import GeError

OLD_PYTHON = sys.version_info < (3, 11)


class Boom(Exception):
    pass


def _failure() -> GeError:
    return GeError.from_call("RunGraph", 1343242245, "no memory", {"graph_id": 1})


def test_a_report_goes_to_the_innermost_block_of_its_thread() -> None:
    kept: list[BaseException] = []
    outer_exc, inner_exc, loose = Boom("outer"), Boom("inner"), Boom("loose")
    with collecting() as outer:
        report(outer_exc, kept.append)
        with collecting() as inner:
            report(inner_exc, kept.append)
            seen: list[BaseException] = []
            other = threading.Thread(target=report, args=(Boom("other"), seen.append))
            other.start()
            other.join()
    report(loose, kept.append)  # no block: the fallback keeps it
    assert (outer, inner, kept) == ([outer_exc], [inner_exc], [loose])
    assert [str(e) for e in seen] == ["other"]  # another thread's block is not this one's


def test_idle_work_runs_once_when_the_outermost_block_ends() -> None:
    ran: list[str] = []

    def work() -> None:
        ran.append("work")

    with collecting():
        with collecting():
            when_idle(work)
            when_idle(work)  # once, however often it is asked for
        assert ran == []  # still inside a call
    assert ran == ["work"]
    with collecting():
        pass
    assert ran == ["work"]


def test_what_the_user_asked_for_is_preferred() -> None:
    first, interrupt = Boom("first"), KeyboardInterrupt()
    assert preferred([first, Boom("second")]) is first
    assert preferred([first, interrupt]) is interrupt
    raise_first([])  # nothing collected: nothing raised
    raise_with(None, [])


def test_a_failure_carries_the_first_as_cause_and_the_others_as_notes() -> None:
    first, second, third = Boom("first"), KeyError("second"), Boom("third")
    with pytest.raises(GeError) as info:
        raise_with(_failure(), [first, second, third])
    assert info.value.__cause__ is first
    assert info.value.__notes__ == [
        "also raised: KeyError('second')",
        "also raised: Boom('third')",
    ]
    message = str(info.value).splitlines()
    assert message[0].startswith("RunGraph failed; graph_id=1")
    # before 3.11 the notes are printed with the message, as 3.11 prints them
    assert message[1:] == (info.value.__notes__ if OLD_PYTHON else [])
    assert info.value.args == (  # the notes live in __notes__ and str(), not in args
        "RunGraph failed; graph_id=1, status=GE_GRAPH_MALLOC_FAILED (1343242245); no memory",
    )


def test_without_a_failure_the_first_is_raised_with_the_others_as_notes() -> None:
    first = Boom("first")
    with pytest.raises(Boom) as info:
        raise_first([first, Boom("second")])
    assert info.value is first
    assert info.value.__notes__ == ["also raised: Boom('second')"]
    expected_args = ("first\nalso raised: Boom('second')",) if OLD_PYTHON else ("first",)
    assert info.value.args == expected_args


def test_an_interrupt_wins_and_notes_the_failure() -> None:
    interrupt = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt) as info:
        raise_with(_failure(), [Boom("first"), interrupt])
    assert info.value is interrupt
    assert info.value.__notes__[0].startswith("the call then failed: RunGraph failed")
    assert info.value.__notes__[1] == "also raised: Boom('first')"


def test_exceptions_that_own_their_message_keep_it() -> None:
    """A KeyError (its own __str__) and a SystemExit (args are the exit status)
    are never rewritten: their notes are in __notes__."""
    key_error = KeyError("k")
    with pytest.raises(KeyError) as info:
        raise_first([key_error, Boom("x")])
    assert info.value.args == ("k",) and info.value.__notes__ == ["also raised: Boom('x')"]
    exit_ = SystemExit(5)
    with pytest.raises(SystemExit) as exit_info:
        raise_with(_failure(), [exit_])
    assert exit_info.value.code == 5 and len(exit_info.value.__notes__) == 1


SCRIPT = textwrap.dedent(
    """
    import sys
    from ge._callback_errors import raise_first, raise_with
    from ge.error import GeError

    class Boom(Exception):
        pass

    failure = GeError.from_call("RunGraph", 1, "no memory")
    if sys.argv[1] == "failure":
        raise_with(failure, [Boom("first"), Boom("second")])
    elif sys.argv[1] == "interrupt":
        raise_with(failure, [KeyboardInterrupt(), Boom("second")])
    else:
        raise_first([Boom("first"), Boom("second")])
    """
)


@pytest.mark.parametrize("case", ["failure", "no_failure", "interrupt"])
def test_the_printed_traceback_shows_every_exception_once(case: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, case], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert done.stderr.count("also raised: Boom('second')") == 1, done.stderr
    if case == "interrupt":
        assert done.stderr.count("the call then failed: RunGraph failed") == 1, done.stderr
    else:
        assert done.stderr.count("Boom: first") == 1, done.stderr
