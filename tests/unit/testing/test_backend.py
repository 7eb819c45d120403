"""``ge.testing.select_backend``: CANN where usable, else the stand-in (with one line
saying so), and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from _helpers.processes import run_select_backend, without_cann

from ge.testing import select_backend


def test_select_backend_keeps_a_chosen_stand_in_quietly(
    ge_stub_library: str, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = select_backend()
    assert (backend.kind, backend.is_stub, backend.fell_back) == ("stub", True, False)
    assert backend.libraries == (ge_stub_library,)
    assert str(backend) == f"the CPU stand-in (no NPU is used), {ge_stub_library}"
    assert select_backend("stub").libraries == (ge_stub_library,)
    assert capsys.readouterr().err == ""


def test_select_backend_refuses_an_unknown_choice() -> None:
    with pytest.raises(ValueError, match="auto, cann, stub"):
        select_backend("gpu")  # type: ignore[arg-type]


def test_select_backend_falls_back_with_one_line(ge_stub_library: str) -> None:
    done = run_select_backend(without_cann())
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:2] == ["stub", "True"]
    assert done.stderr.splitlines() == [
        f"ge: CANN not found: running on the CPU stand-in (no NPU is used), "
        f"{done.stdout.split()[2]}; 'python -m ge doctor' tells more"
    ]
    quiet = run_select_backend(without_cann(), "auto", "quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_select_backend_prefers_cann(fake_cann: Path) -> None:
    done = run_select_backend(without_cann(ASCEND_HOME_PATH=str(fake_cann)))
    assert done.returncode == 0, done.stderr
    kind, fell_back, *libraries = done.stdout.split()
    assert (kind, fell_back) == ("cann", "False") and done.stderr == ""
    assert all(lib.startswith(str(fake_cann)) for lib in libraries) and libraries


def test_select_backend_cann_without_cann_raises() -> None:
    done = run_select_backend(without_cann(), "cann")
    assert done.returncode == 1
    assert "ge.error.LibraryNotFoundError: cannot load the 'acl' library" in done.stderr
