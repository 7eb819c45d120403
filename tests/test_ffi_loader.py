"""Library discovery: lazy loading, search order, and the error that lists every path."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ge import _ffi
from ge._ffi import loader
from ge.error import GeError, LibraryNotFoundError, MissingSymbolError


@pytest.fixture
def no_library(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An environment where no library can be found (CANN roots point at empty dirs)."""
    for var in (loader.ENV_LIBRARY, loader.ENV_LIBRARY_DIR, *loader.ROOT_ENV_VARS):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(loader, "DEFAULT_ROOTS", (str(tmp_path / "nowhere"),))
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path / "empty"))
    _ffi.reset()
    yield tmp_path
    monkeypatch.undo()
    _ffi.reset()


def test_import_needs_no_library(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GE_FFI", "ASCEND"))}
    code = (
        "import ge, ge.session, ge.graph, ge.acl, ge.testing, ge.allocator, ge.ge_global\n"
        "import ge._ffi.loader as L; L.DEFAULT_ROOTS = ()\n"
        "try:\n    ge.acl.device_count()\n"
        "except ge.LibraryNotFoundError as e:\n    print('LNF', e.attempts[-1][0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "LNF libascendcl.so"
    assert done.stderr == ""


def test_missing_library_lists_every_path_tried(
    no_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib_dir = no_library / "libdir"
    root = no_library / "root"
    monkeypatch.setenv(loader.ENV_LIBRARY_DIR, str(lib_dir))
    monkeypatch.setenv("ASCEND_HOME_PATH", str(root))
    monkeypatch.setenv("ASCEND_OPP_PATH", str(no_library / "opp" / "op"))
    with pytest.raises(LibraryNotFoundError) as info:
        _ = _ffi.api.aclInit
    err = info.value
    assert isinstance(err, OSError) and isinstance(err, GeError)
    tried = [path for path, _ in err.attempts]
    assert tried[0] == str(lib_dir / "libascendcl.so")
    assert tried[1:7] == [str(root / sub / "libascendcl.so") for sub in loader.SUBDIRS]
    assert tried[7] == str(no_library / "opp" / "lib64" / "libascendcl.so")
    assert tried[-1] == "libascendcl.so"
    message = str(err)
    for path in tried:
        assert path in message
    assert "GE_FFI_LIBRARY_DIR" in message and "GE_FFI_LIBRARY" in message
    assert "cannot open shared object file" in message  # the loader's own error


def test_has_is_false_without_library(no_library: Path) -> None:
    assert not _ffi.has("GeApiWrapper_GEInitialize")
    report = _ffi.describe()
    assert not report.ok
    assert all(group.error for group in report.groups)


def test_env_library_that_cannot_load(no_library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bogus = no_library / "libbogus.so"
    bogus.write_text("not an ELF file")
    monkeypatch.setenv(loader.ENV_LIBRARY, str(bogus))
    with pytest.raises(LibraryNotFoundError) as info:
        _ = _ffi.api.GeApiWrapper_GEInitialize
    assert str(bogus) in str(info.value)
    assert info.value.attempts[0][0] == str(bogus)


def test_library_dir_finds_each_group(
    ge_stub_library: str, no_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib_dir = no_library / "cann"
    lib_dir.mkdir()
    for files in loader.GROUP_FILES.values():
        for name in files[:1]:
            (lib_dir / name).symlink_to(ge_stub_library)
    monkeypatch.setenv(loader.ENV_LIBRARY_DIR, str(lib_dir))
    report = _ffi.describe()
    assert report.ok, report
    assert report.group("acl").paths == [str(lib_dir / "libascendcl.so")]
    assert report.group("ge").paths == [str(lib_dir / "libge_runtime_wrapper.so")]
    assert report.group("stub").error is not None  # control symbols need GE_FFI_LIBRARY
    assert _ffi.has("_ZNK2ge6Tensor7GetDataEv")


def test_unknown_and_hidden_symbols(ge_stub_library: str) -> None:
    with pytest.raises(AttributeError):
        _ = _ffi.api.NotARealFunction
    assert _ffi.has("GeApiWrapper_Session_CompileGraph")
    with _ffi.hidden_symbols("GeApiWrapper_Session_CompileGraph"):
        assert not _ffi.has("GeApiWrapper_Session_CompileGraph")
        with pytest.raises(MissingSymbolError, match="GeApiWrapper_Session_CompileGraph"):
            _ = _ffi.api.GeApiWrapper_Session_CompileGraph
    assert _ffi.has("GeApiWrapper_Session_CompileGraph")
    with pytest.raises(ValueError, match="not optional"), _ffi.hidden_symbols("aclInit"):
        pass


def test_lazy_loading(no_library: Path) -> None:
    assert loader.Loader()._groups == {}
    assert _ffi.api.__dict__ == {}
