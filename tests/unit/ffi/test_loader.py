"""Library discovery: lazy loading, search order, and the error that lists every path."""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _helpers.processes import run_python, without_cann

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
    code = (
        "import ge, ge.session, ge.graph, ge.acl, ge.testing, ge.allocator, ge.ge_global\n"
        "import ge._ffi.loader as L; L.DEFAULT_ROOTS = ()\n"
        "try:\n    ge.acl.device_count()\n"
        "except ge.LibraryNotFoundError as e:\n    print('LNF', e.attempts[-1][0])\n"
    )
    done = run_python(code, env=without_cann(), cwd=tmp_path)
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
    opp_root = no_library / "opp"
    assert tried == [
        str(lib_dir / "libascendcl.so"),
        *(str(root / sub / "libascendcl.so") for sub in loader.LIB_SUBDIRS),
        *(str(opp_root / sub / "libascendcl.so") for sub in loader.LIB_SUBDIRS),
        *(str(no_library / "nowhere" / sub / "libascendcl.so") for sub in loader.LIB_SUBDIRS),
        "libascendcl.so",
    ]
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
    for group, files in loader.GROUP_FILES.items():
        if group != "stub":
            (lib_dir / files[0]).symlink_to(ge_stub_library)
    monkeypatch.setenv(loader.ENV_LIBRARY_DIR, str(lib_dir))
    report = _ffi.describe()
    assert report.ok, report
    assert report.group("acl").paths == [str(lib_dir / "libascendcl.so")]
    assert report.group("ge").paths == [str(lib_dir / "libge_runtime_wrapper.so")]
    assert report.group("ops").paths == [str(lib_dir / "libes_all.so")]
    error = report.group("stub").error  # the control symbols: libge_stub_core.so
    assert error is not None and "libge_stub_core.so" in error
    assert _ffi.has("_ZNK2ge6Tensor7GetDataEv")


def test_unknown_and_hidden_symbols(ge_stub_library: str) -> None:
    with pytest.raises(AttributeError):
        _ = _ffi.api.NotARealFunction
    assert _ffi.has("GeSessionLoadGraph")
    with _ffi.hidden_symbols("GeSessionLoadGraph"):
        assert not _ffi.has("GeSessionLoadGraph")
        with pytest.raises(MissingSymbolError, match="GeSessionLoadGraph"):
            _ = _ffi.api.GeSessionLoadGraph
    assert _ffi.has("GeSessionLoadGraph")
    with pytest.raises(ValueError, match="not optional"), _ffi.hidden_symbols("aclInit"):
        pass


def test_lazy_loading(no_library: Path) -> None:
    assert loader.Loader()._groups == {}
    assert _ffi.api.__dict__ == {}


def test_wrappers_are_searched_in_ge_capi(
    no_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = no_library / "root"
    monkeypatch.setenv("ASCEND_HOME_PATH", str(root))
    site = no_library / "site"  # CANN's wheel installed into an interpreter
    (site / "ge" / "_capi").mkdir(parents=True)
    ours = no_library / "ours"  # this package's own directory is never searched
    (ours / "ge" / "_capi").mkdir(parents=True)
    monkeypatch.setattr(loader, "_OUR_PACKAGE", (ours / "ge").resolve())
    monkeypatch.setattr(sys, "path", [str(ours), str(no_library / "empty"), str(site)])
    monkeypatch.setattr(loader, "installer_site_dirs", lambda: [str(site), str(ours)])
    assert loader.candidate_paths("libgraph_wrapper.so") == [
        str(root / "python" / "site-packages" / "ge" / "_capi" / "libgraph_wrapper.so"),
        str(
            no_library
            / "nowhere"
            / "python"
            / "site-packages"
            / "ge"
            / "_capi"
            / "libgraph_wrapper.so"
        ),
        str(site / "ge" / "_capi" / "libgraph_wrapper.so"),
        "libgraph_wrapper.so",
    ]
    for name in ("libascendcl.so", "libeager_style_graph_builder_base.so", "libge_stub_core.so"):
        assert loader.candidate_paths(name)[:2] == [
            str(root / f"{platform.machine()}-linux" / "lib64" / name),
            str(root / "lib64" / name),
        ]
    assert "libge_runner.so" not in {n for files in loader.GROUP_FILES.values() for n in files}


def _site_packages_of(prefixes: list[str]) -> list[str]:
    return [f"{p}/lib/site-packages" for p in prefixes]


def test_the_installer_places_off_sys_path_are_searched_in_python_s_order(
    no_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CANN's installer puts its wheel in the user site (not root) or the system
    interpreter's site-packages (root); a venv sees neither on sys.path."""
    import site as site_module

    user, venv, base = (no_library / name for name in ("user", "venv", "base"))
    monkeypatch.setattr(site_module, "getusersitepackages", lambda: str(user / "site"))
    monkeypatch.setattr(site_module, "getsitepackages", _site_packages_of)
    monkeypatch.setattr(sys, "prefix", str(venv))
    monkeypatch.setattr(sys, "base_prefix", str(base))
    monkeypatch.setattr(sys, "path", [str(no_library / "empty")])
    assert loader.installer_site_dirs() == [
        str(user / "site"),
        f"{venv}/lib/site-packages",
        f"{base}/lib/site-packages",
    ]
    paths = loader.candidate_paths("libge_runtime_wrapper.so")
    assert paths[-4:] == [
        str(user / "site" / "ge" / "_capi" / "libge_runtime_wrapper.so"),
        str(venv / "lib" / "site-packages" / "ge" / "_capi" / "libge_runtime_wrapper.so"),
        str(base / "lib" / "site-packages" / "ge" / "_capi" / "libge_runtime_wrapper.so"),
        "libge_runtime_wrapper.so",
    ]
    # the failed search lists them
    error = loader.Loader().load("ge").error
    assert isinstance(error, LibraryNotFoundError)
    tried = [path for path, _ in error.attempts]
    assert paths[-2] in tried
    assert str(user / "site" / "ge" / "_capi" / "libge_runtime_wrapper.so") in str(error)


def test_the_base_interpreter_s_site_packages_is_where_a_root_install_is_found(
    no_library: Path, monkeypatch: pytest.MonkeyPatch, ge_stub_library: str
) -> None:
    """A venv without system site-packages: CANN's wheel in the base interpreter's."""
    import shutil
    import site as site_module

    base = no_library / "base"
    capi = base / "lib" / "site-packages" / "ge" / "_capi"
    capi.mkdir(parents=True)
    shutil.copy(ge_stub_library, capi / "libgraph_wrapper.so")
    monkeypatch.setattr(site_module, "getusersitepackages", lambda: str(no_library / "user"))
    monkeypatch.setattr(site_module, "getsitepackages", _site_packages_of)
    monkeypatch.setattr(sys, "base_prefix", str(base))
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "site-packages" not in p])
    load = loader.Loader().load("graph")
    assert load.error is None, load.error
    assert load.paths == [str(capi / "libgraph_wrapper.so")]


def test_op_libraries_load_first_and_globally(
    no_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[tuple[str, int]] = []

    def fake_open(path: str, mode: int) -> tuple[None, str]:
        opened.append((os.path.basename(path), mode))
        return None, "not here"

    monkeypatch.setattr(loader, "_open", fake_open)
    load = loader.Loader().load("builder")
    assert load.error is not None
    names = list(dict.fromkeys(name for name, _ in opened))
    assert names == ["libes_all.so", "libes_math.so", "libeager_style_graph_builder_base.so"]
    assert {mode for _, mode in opened} == {ctypes.RTLD_GLOBAL | os.RTLD_NOW}
    assert _ffi.signatures.SPECS_BY_NAME["EsAdd"].groups == ("ops",)


# -- the search order, without loading anything -------------------------------------------


def test_the_cann_roots_in_order_without_repeats(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ASCEND_HOME_PATH", str(tmp_path / "home"))
    monkeypatch.setenv("ASCEND_TOOLKIT_HOME", str(tmp_path / "home"))  # the same root again
    monkeypatch.setenv("ASCEND_OPP_PATH", str(tmp_path / "opp" / "op"))
    roots = loader.search_roots()
    assert roots == [
        str(tmp_path / "home"),
        str(tmp_path / "opp"),  # the parent of ASCEND_OPP_PATH
        *loader.DEFAULT_ROOTS,
    ]


def test_each_file_is_looked_for_where_cann_puts_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in loader.ROOT_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(loader, "DEFAULT_ROOTS", (str(tmp_path / "cann"),))
    monkeypatch.setattr(loader, "capi_dirs_on_sys_path", lambda: [])
    monkeypatch.setattr(loader, "installer_site_dirs", lambda: [])
    monkeypatch.setenv(loader.ENV_LIBRARY_DIR, str(tmp_path / "first"))
    cann = tmp_path / "cann"
    assert loader.candidate_paths("libascendcl.so") == [
        str(tmp_path / "first" / "libascendcl.so"),
        *(str(cann / sub / "libascendcl.so") for sub in loader.LIB_SUBDIRS),
        "libascendcl.so",  # last: the dynamic loader's own search
    ]
    assert loader.candidate_paths("libgraph_wrapper.so") == [
        str(tmp_path / "first" / "libgraph_wrapper.so"),
        str(cann / "python" / "site-packages" / "ge" / "_capi" / "libgraph_wrapper.so"),
        "libgraph_wrapper.so",
    ]


def test_a_loader_remembers_each_outcome_until_reset(no_library: Path) -> None:
    own = loader.Loader()
    first = own.load("acl")
    assert first.error is not None and own.load("acl") is first
    own.reset()
    assert own.load("acl") is not first


def test_the_hint_says_what_is_likeliest_missing(tmp_path: Path) -> None:
    assert loader.OPS_HINT in str(loader._not_found("ops", [("libes_all.so", "not found")]))
    assert loader.HINT in str(loader._not_found("acl", []))
    wrapper = tmp_path / "lib64" / "libascendcl.so"
    wrapper.parent.mkdir()
    wrapper.write_bytes(b"")
    error = "libruntime.so: cannot open shared object file: No such file or directory"
    text = str(loader._not_found("acl", [(str(wrapper), error)]))
    assert "source" in text and "set_env.sh" in text
