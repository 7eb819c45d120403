"""The stand-in built as CANN builds it, and ``ge`` finding it where CANN installs it.

``build_cann_layout()`` makes CANN's separate libraries over one core library
in a fake CANN tree (docs/abi.md section 2). Checked here: each library exports
exactly its own symbols of ``stubs/symbols.def``; the table agrees with the
groups of ``ge/_ffi/signatures.py``; and, in child processes (the dynamic
loader reads ``LD_LIBRARY_PATH`` at process start), the whole flow on the
tree with the environment of its ``set_env.sh``, the error without it, a
missing op library and a runtime wrapper older than CANN 9.1.0.
"""

from __future__ import annotations

import fnmatch
import json
import platform
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _helpers.cann_trees import copy_cann_tree, run_in_cann_env

import ge
from ge._ffi import loader
from ge._ffi.signatures import SPECS
from ge.testing.build import (
    CORE,
    CORE_INTERNAL_EXPORTS,
    SymbolTable,
    build_cann_layout,
    read_symbol_table,
)

ARCH_DIR = f"{platform.machine()}-linux/lib64"
OUR_ROOT = Path(ge.__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("nm") is None, reason="needs nm (binutils)")


@pytest.fixture(scope="module")
def table() -> SymbolTable:
    return read_symbol_table()


@pytest.fixture(scope="module")
def cann_root() -> Path:
    return build_cann_layout()


def dynamic_symbols(library: Path) -> dict[str, str]:
    """Defined dynamic symbols of a library: name -> nm type letter."""
    out = subprocess.run(
        ["nm", "-D", "--defined-only", str(library)], capture_output=True, text=True, check=True
    ).stdout
    return {line.split()[-1]: line.split()[-2] for line in out.splitlines() if line.strip()}


def dynamic_section(library: Path) -> str:
    return subprocess.run(
        ["readelf", "-d", str(library)], capture_output=True, text=True, check=True
    ).stdout


def test_each_library_exports_exactly_its_own_symbols(table: SymbolTable, cann_root: Path) -> None:
    for stem, spec in table.libraries.items():
        path = spec.install_dir(cann_root) / spec.file_name
        exported = dynamic_symbols(path)
        own = set(table.exports(stem))
        if stem == CORE:
            internal = {
                name
                for name in exported
                if any(fnmatch.fnmatchcase(name, pat) for pat in CORE_INTERNAL_EXPORTS)
            }
            assert {"ge_stub_enter", "ge_stub_leave"} <= internal
            assert set(exported) - internal == own, stem
            assert all(name.startswith("GeStub_") for name in own)
        else:
            assert set(exported) == own, stem
        for name in table.weak.get(stem, ()):
            assert exported[name] == "W", f"{name} must be a weak placeholder in {stem}"
        for name in own - set(table.weak.get(stem, ())):
            assert exported[name] == "T", f"{name} in {stem}"


def test_libraries_have_no_rpath_and_need_what_the_table_says(
    table: SymbolTable, cann_root: Path
) -> None:
    for spec in table.libraries.values():
        dynamic = dynamic_section(spec.install_dir(cann_root) / spec.file_name)
        assert "RPATH" not in dynamic and "RUNPATH" not in dynamic, spec.file_name
        needed = {
            line.split("[")[1].rstrip("]") for line in dynamic.splitlines() if "NEEDED" in line
        }
        ours = {f"lib{stem}.so" for stem in table.libraries}
        assert needed & ours == {f"lib{need}.so" for need in spec.needs}, spec.file_name


def test_the_tree_is_laid_out_as_cann_installs_it(cann_root: Path) -> None:
    capi = cann_root / "python" / "site-packages" / "ge" / "_capi"
    assert (cann_root / "lib64" / "libascendcl.so").is_file()
    assert (cann_root / "lib64" / "libge_stub_core.so").is_file()
    for name in ("libge_runner.so", "libgraph.so", "libeager_style_graph_builder_base.so"):
        real = cann_root / ARCH_DIR / name
        assert real.is_file() and not real.is_symlink()
        link = cann_root / "lib64" / name  # "also reached as <cann>/lib64"
        assert link.is_symlink() and link.resolve() == real.resolve()
    for name in ("libgraph_wrapper.so", "libge_runtime_wrapper.so", "libes_math.so"):
        assert (capi / name).is_file()
    assert not (cann_root / "python" / "site-packages" / "ge" / "__init__.py").exists()
    set_env = (cann_root / "set_env.sh").read_text()
    for var in ("ASCEND_HOME_PATH", "ASCEND_TOOLKIT_HOME", "LD_LIBRARY_PATH", "PYTHONPATH"):
        assert f"export {var}=" in set_env
    assert build_cann_layout() == cann_root  # cached


def test_symbol_table_agrees_with_the_declared_groups(table: SymbolTable) -> None:
    declared = {spec.name: spec for spec in SPECS}
    assert set(table.symbols) == set(declared)

    def reachable(group: str) -> set[str]:
        """Stems whose symbols dlsym finds through the group's library handles."""
        found: set[str] = set()
        todo = [
            s for s, lib in table.libraries.items() if lib.file_name in loader.GROUP_FILES[group]
        ]
        while todo:
            stem = todo.pop()
            if stem in found:
                continue
            found.add(stem)
            if stem != CORE:  # the core's own exports are the controls only
                todo.extend(need for need in table.libraries[stem].needs if need != CORE)
        return found

    for name, stem in table.symbols.items():
        (group,) = declared[name].groups
        assert stem in reachable(group), f"{name} is in lib{stem}.so, not under group {group}"
    assert declared["EsAdd"].groups == ("ops",)  # never the base library's placeholder


def test_failable_functions_come_from_the_table(table: SymbolTable, ge_stub: object) -> None:
    from ge.testing import StubControl

    assert isinstance(ge_stub, StubControl)
    assert set(ge_stub.failable_functions()) == table.failable


def test_the_single_library_exports_the_table(table: SymbolTable, ge_stub_library: str) -> None:
    exported = dynamic_symbols(Path(ge_stub_library))
    assert set(exported) == set(table.symbols)
    assert all(kind == "T" for kind in exported.values())  # EsAdd... strong


# What CANN's own Python package calls in the seed flow (hicann/ge,
# api/python/ge/ge/): each symbol, the library whose handle it calls it on (its
# _capi/py*_wrapper.py modules load libge_runtime_wrapper.so as geapi_lib,
# session_lib and tensor_runtime_lib, libgraph_wrapper.so as graph_lib,
# libeager_style_graph_builder_base.so as esb_lib, libes_all.so or else
# libes_math.so as generated_lib), and the file of the call.
RUNTIME, GRAPH_W, BASE, MATH = (
    "libge_runtime_wrapper.so",
    "libgraph_wrapper.so",
    "libeager_style_graph_builder_base.so",
    "libes_math.so",
)
CANNS_SEED_CALLS: tuple[tuple[str, str, str], ...] = (
    ("GeApiWrapper_GEInitialize", RUNTIME, "ge_global/geapi.py"),
    ("GeApiWrapper_GEFinalize", RUNTIME, "ge_global/geapi.py"),
    ("GeApiWrapper_GEGetErrorMsg", RUNTIME, "error.py"),
    ("GeApiWrapper_IsGEInitialized", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Session_CreateSession", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Session_CreateSessionWithOptions", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Session_DestroySession", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Session_AddGraph", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Session_AddGraphWithOptions", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Session_RemoveGraph", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Session_RunGraph", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Session_RunGraphWithStreamAsync", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Session_FreeTensorArray", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Session_RegisterExternalAllocator", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Session_UnregisterExternalAllocator", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Session_RegisterDefaultAllocator", RUNTIME, "session/session.py"),
    ("GeApiWrapper_HasExternalAllocator", RUNTIME, "session/session.py"),
    ("GeApiWrapper_HasDefaultAllocator", RUNTIME, "session/session.py"),
    ("GeApiWrapper_Tensor_ToHost", RUNTIME, "graph/tensor.py"),
    ("GeApiWrapper_Tensor_ToDevice", RUNTIME, "graph/tensor.py"),
    ("GeApiWrapper_Tensor_CreateTensor", GRAPH_W, "graph/tensor.py"),
    ("GeApiWrapper_Tensor_DestroyEsCTensor", GRAPH_W, "graph/tensor.py"),
    ("GeApiWrapper_Tensor_GetData", GRAPH_W, "graph/tensor.py"),
    ("GeApiWrapper_FreeString", GRAPH_W, "graph/tensor.py"),
    ("GeApiWrapper_Tensor_GetShape", GRAPH_W, "graph/tensor.py"),
    ("GeApiWrapper_Tensor_FreeDimsArray", GRAPH_W, "graph/tensor.py"),
    ("GeApiWrapper_Tensor_GetDataType", GRAPH_W, "graph/tensor.py"),
    ("GeApiWrapper_Tensor_SetDataType", GRAPH_W, "graph/tensor.py"),
    ("GeApiWrapper_Tensor_GetFormat", GRAPH_W, "graph/tensor.py"),
    ("GeApiWrapper_Tensor_SetFormat", GRAPH_W, "graph/tensor.py"),
    ("GeApiWrapper_Tensor_GetPlacement", GRAPH_W, "graph/tensor.py"),
    ("GeApiWrapper_Tensor_GetTensorDesc", GRAPH_W, "graph/tensor.py"),
    ("GeApiWrapper_Graph_CreateGraph", GRAPH_W, "graph/graph.py"),
    ("GeApiWrapper_Graph_DestroyGraph", GRAPH_W, "graph/graph.py"),
    ("EsCreateEsCTensor", BASE, "graph/tensor.py"),
    ("EsCreateGraphBuilder", BASE, "es/graph_builder.py"),
    ("EsDestroyGraphBuilder", BASE, "es/graph_builder.py"),
    ("EsCreateGraphInputWithDetails", BASE, "es/graph_builder.py"),
    ("EsSetGraphOutput", BASE, "es/graph_builder.py"),
    ("EsBuildGraphAndReset", BASE, "es/graph_builder.py"),
    ("EsSetDataType", BASE, "es/tensor_holder.py"),
    ("EsSetFormat", BASE, "es/tensor_holder.py"),
    ("EsSetShape", BASE, "es/tensor_holder.py"),
    ("EsGetProducer", BASE, "es/tensor_holder.py"),
    ("EsAdd", MATH, "es/tensor_holder.py"),
    ("EsSub", MATH, "es/tensor_holder.py"),
    ("EsMul", MATH, "es/tensor_holder.py"),
    ("EsDiv", MATH, "es/tensor_holder.py"),
)


def test_what_canns_own_package_calls_is_where_it_calls_it(
    table: SymbolTable, cann_root: Path
) -> None:
    """Each symbol CANN's package calls in the seed flow: a strong export of the
    library CANN's package calls it on, in the stand-in's layout, and declared by
    this package in the group that loads that library."""
    declared = {spec.name: spec for spec in SPECS}
    by_file = {spec.file_name: spec for spec in table.libraries.values()}
    exported: dict[str, dict[str, str]] = {}
    for symbol, library, source in CANNS_SEED_CALLS:
        spec = by_file[library]
        if library not in exported:
            exported[library] = dynamic_symbols(spec.install_dir(cann_root) / library)
        assert exported[library].get(symbol) == "T", f"{symbol} ({source}) not in {library}"
        (group,) = declared[symbol].groups
        assert library in loader.GROUP_FILES[group], f"{symbol}: group {group}, not {library}"


# -- child processes on the tree -----------------------------------------------------


def run_in_tree(
    root: Path, code: str, tmp_path: Path, *, set_env: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter, with the environment ``root/set_env.sh``
    sets (or, with ``set_env=False``, only ``ASCEND_HOME_PATH``), no
    ``GE_FFI_LIBRARY``, and this checkout's ``ge`` first on ``PYTHONPATH`` (the
    tree's ``python/site-packages`` must not provide ``ge``)."""
    if shutil.which("bash") is None:
        pytest.skip("needs bash to source set_env.sh")
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(code))
    ours_first = f'export PYTHONPATH={shlex.quote(str(OUR_ROOT))}"${{PYTHONPATH:+:$PYTHONPATH}}"'
    return run_in_cann_env(
        root, [sys.executable, str(script)], tmp_path, set_env=set_env, shell_steps=[ours_first]
    )


def test_ge_finds_every_library_in_its_place_and_runs_the_flow(
    cann_root: Path, tmp_path: Path
) -> None:
    code = f"""
        import json, os, sys
        from pathlib import Path
        import ge
        assert Path(ge.__file__).resolve().parent == Path({str(OUR_ROOT)!r}) / "ge", ge.__file__
        assert "GE_FFI_LIBRARY" not in os.environ
        from ge._demo import run_demo
        rc = run_demo("cann")
        from ge import _ffi
        from ge.testing import StubControl
        paths = {{g.group: g.paths for g in _ffi.describe().groups}}
        maps = sorted({{os.path.realpath(line.split()[-1])
                       for line in open("/proc/self/maps").read().splitlines()
                       if ".so" in line.split()[-1]}})
        live = {{k: v for k, v in StubControl().live_counts().items() if v}}
        print("REPORT " + json.dumps({{"paths": paths, "maps": maps, "live": live}}))
        sys.exit(rc)
    """
    done = run_in_tree(cann_root, code, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run_graph: ok" in done.stdout
    assert "run_graph_with_stream_async x3: ok" in done.stdout
    assert "result: correct" in done.stdout
    report = json.loads(done.stdout.split("REPORT ", 1)[1])
    capi = cann_root / "python" / "site-packages" / "ge" / "_capi"
    assert report["paths"] == {
        "acl": [str(cann_root / "lib64" / "libascendcl.so")],
        "ge": [str(capi / "libge_runtime_wrapper.so")],
        "graph": [str(capi / "libgraph_wrapper.so")],
        "ops": [str(capi / "libes_math.so")],
        "builder": [str(cann_root / ARCH_DIR / "libeager_style_graph_builder_base.so")],
        "stub": [str(cann_root / "lib64" / "libge_stub_core.so")],
    }
    ours = {p for p in report["maps"] if "ge_stub" in p or p.startswith(str(cann_root.resolve()))}
    real = cann_root.resolve()
    assert ours == {
        str(real / "lib64" / "libascendcl.so"),
        str(real / "lib64" / "libge_stub_core.so"),
        str(real / ARCH_DIR / "libge_runner.so"),
        str(real / ARCH_DIR / "libgraph.so"),
        str(real / ARCH_DIR / "libeager_style_graph_builder_base.so"),
        str(capi.resolve() / "libge_runtime_wrapper.so"),
        str(capi.resolve() / "libgraph_wrapper.so"),
        str(capi.resolve() / "libes_math.so"),
    }
    assert report["live"] == {}


def test_without_set_env_the_error_says_to_source_it(cann_root: Path, tmp_path: Path) -> None:
    code = """
        import ge
        try:
            ge.initialize({})
        except ge.LibraryNotFoundError as exc:
            print("ERROR", exc)
        else:
            raise SystemExit("loaded without LD_LIBRARY_PATH")
    """
    done = run_in_tree(cann_root, code, tmp_path, set_env=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"source {cann_root / 'set_env.sh'} first" in done.stdout, done.stdout
    assert "libge_runtime_wrapper.so" in done.stdout
    assert "cannot open shared object file" in done.stdout


def test_a_missing_op_library_is_not_replaced_by_the_placeholders(tmp_path: Path) -> None:
    root = copy_cann_tree(tmp_path / "cann")
    (root / "python" / "site-packages" / "ge" / "_capi" / "libes_math.so").unlink()
    code = """
        import ctypes
        import ge
        from ge import _ffi
        assert _ffi.has("EsCreateGraphBuilder")
        assert not _ffi.has("EsAdd")
        builder = ge.GraphBuilder("g")
        x = builder.input(0, ge.DataType.DT_FLOAT, (2,))
        try:
            x + x
        except ge.LibraryNotFoundError as exc:
            print("ERROR", exc)
        else:
            raise SystemExit("EsAdd was bound")
        builder.close()
        base = _ffi._loader.load("builder").libraries[0]
        base.EsAdd.restype = ctypes.c_void_p
        print("PLACEHOLDER", base.EsAdd(None, None))
        print("MESSAGE", _ffi.api.GeApiWrapper_GEGetErrorMsg().decode())
    """
    done = run_in_tree(root, code, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    error = done.stdout.split("ERROR ", 1)[1]
    assert "'ops'" in error and "libes_all.so" in error and "libes_math.so" in error
    assert "add_es_library" in error
    # the base library does have the placeholder, which returns NULL with a message
    assert "PLACEHOLDER None" in done.stdout
    assert "weak placeholder" in done.stdout and "[FUNC:EsAdd]" in done.stdout


def test_a_runtime_wrapper_older_than_9_1_is_refused(tmp_path: Path) -> None:
    old = build_cann_layout(
        tmp_path / "old",
        omit_symbols=("GeApiWrapper_Session_FreeTensorArray", "GeApiWrapper_GEGetErrorMsg"),
    )
    code = """
        import ge
        from ge.testing import StubControl
        try:
            ge.initialize({})
        except ge.CannVersionError as exc:
            assert isinstance(exc, ge.GeError)
            print("ERROR", exc)
        else:
            raise SystemExit("an old runtime wrapper was used")
        try:
            ge.Session()  # GE is not initialised: refused before any C call
        except ge.GeError as exc:
            assert exc.status_name == "GE_SESSION_MANAGER_NOT_INIT", exc
        counts = StubControl().live_counts()
        print("SESSIONS", counts["sessions"])
    """
    done = run_in_tree(old, code, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CANN 9.1.0 or later" in done.stdout
    assert "GeApiWrapper_Session_FreeTensorArray" in done.stdout
    assert "SESSIONS 0" in done.stdout
