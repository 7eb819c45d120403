"""``ge_ffi``: telling when another ``ge`` comes first, the finder that picks this
distribution's, and ``run`` (in-process; the same in child processes on fake CANN
trees: ``tests/integration/test_host_layouts.py``)."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest

import ge
import ge_ffi
from ge_ffi import GeShadowed, Shadowing, shadowing, use_our_ge
from ge_ffi.cli import explain_shadowing, main

OUR_GE = Path(ge.__file__).resolve().parent


def other_ge(site: Path, *, regular: bool = True) -> Path:
    (site / "ge").mkdir(parents=True)
    if regular:
        (site / "ge" / "__init__.py").write_text("")
    return site / "ge"


def test_our_ge_dir_is_the_ge_beside_ge_ffi() -> None:
    assert ge_ffi.our_ge_dir() == OUR_GE
    assert Path(ge_ffi.__file__).resolve().parent.parent == OUR_GE.parent


def test_another_regular_ge_first_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "cann" / "python" / "site-packages"
    location = other_ge(site)
    (location / "_capi").mkdir()
    monkeypatch.setenv("PYTHONPATH", f"{site}{os.pathsep}/elsewhere")
    found = shadowing([str(site), str(OUR_GE.parent)])
    assert found == Shadowing(str(location), str(site), from_pythonpath=True)
    assert found.is_canns
    monkeypatch.setenv("PYTHONPATH", "")
    found = shadowing([str(site)])
    assert found is not None and not found.from_pythonpath


def test_nothing_is_reported_for_ours_a_namespace_dir_or_no_ge(tmp_path: Path) -> None:
    assert shadowing([str(OUR_GE.parent)]) is None
    other_ge(tmp_path / "ns", regular=False)  # a regular package later on sys.path wins
    assert shadowing([str(tmp_path / "ns"), str(OUR_GE.parent)]) is None
    assert shadowing([str(tmp_path / "empty")]) is None


def test_the_finder_resolves_ge_to_ours_and_goes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = other_ge(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    assert use_our_ge() == Shadowing(str(other), str(tmp_path), from_pythonpath=False)
    finder = sys.meta_path[0]
    assert type(finder).__name__ == "_OurGeFinder"
    spec = finder.find_spec("ge", None)
    assert spec is not None and spec.origin == str(OUR_GE / "__init__.py")
    assert spec.submodule_search_locations == [str(OUR_GE)]
    assert finder.find_spec("ge.acl", None) is None  # submodules follow ge.__path__
    assert finder.find_spec("te", None) is None
    use_our_ge()
    assert sum(type(f).__name__ == "_OurGeFinder" for f in sys.meta_path) == 1
    assert sys.path[0] == str(tmp_path)  # sys.path untouched


def test_too_late_when_another_ge_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    impostor = types.ModuleType("ge")
    impostor.__file__ = "/opt/cann/python/site-packages/ge/__init__.py"
    monkeypatch.setitem(sys.modules, "ge", impostor)
    with pytest.raises(GeShadowed, match="already imported"):
        use_our_ge()


def test_the_explanation_says_where_why_and_what_to_run() -> None:
    shadow = Shadowing("/c/python/site-packages/ge", "/c/python/site-packages", True)
    text = " ".join(" ".join(explain_shadowing(shadow, "ge-ffi")).split())
    assert "gets CANN's own Python package, /c/python/site-packages/ge" in text
    assert "PYTHONPATH, which CANN's set_env.sh sets, puts /c/python/site-packages first" in text
    assert "ge-ffi run script.py" in text and "python -m ge_ffi run -m MODULE" in text
    assert "-p ge_ffi.pytest_plugin" in text and "te/tbe" in text


SCRIPT = """\
import sys
print("NAME", __name__)
print("ARGV", sys.argv)
print("PATH0", sys.path[0])
sys.exit(int(sys.argv[1]))
"""


def test_run_a_script_as_python_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.py").write_text(SCRIPT)
    monkeypatch.setattr(sys, "argv", ["ge-ffi"])
    monkeypatch.setattr(sys, "path", ["/bin", *sys.path])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["run", "s.py", "4", "--x"])
    assert exit_.value.code == 4
    out = capsys.readouterr().out.splitlines()
    assert out == ["NAME __main__", "ARGV ['s.py', '4', '--x']", f"PATH0 {tmp_path}"]


def test_run_a_module_and_show_its_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "runme_ge_ffi.py").write_text("import sys\nprint(sys.argv)\n1 / 0\n")
    monkeypatch.setattr(sys, "argv", ["ge-ffi"])
    monkeypatch.setattr(sys, "path", ["/bin", *sys.path])
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "-m", "runme_ge_ffi", "a"]) == 1
    captured = capsys.readouterr()
    assert captured.out == f"[{str(tmp_path / 'runme_ge_ffi.py')!r}, 'a']\n"
    lines = captured.err.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1].startswith(f'  File "{tmp_path / "runme_ge_ffi.py"}", line 3')
    assert lines[-1] == "ZeroDivisionError: division by zero"
    sys.modules.pop("runme_ge_ffi", None)


def test_run_a_missing_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.py")]) == 2
    assert "can't open file" in capsys.readouterr().err
