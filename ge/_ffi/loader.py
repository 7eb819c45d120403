"""Finding and loading the native libraries, lazily, where CANN installs them.

The rules are those of ``docs/abi.md`` section 2 (where CANN puts each file).
Search order for each library file: ``GE_FFI_LIBRARY`` (one file for every
group) or else ``GE_FFI_LIBRARY_DIR``; then, for each CANN root
(``$ASCEND_HOME_PATH``, ``$ASCEND_TOOLKIT_HOME``, ``$ASCEND_OPP_PATH/..``,
``/usr/local/Ascend/ascend-toolkit/latest``, ``/usr/local/Ascend/cann``), the
directory CANN puts that file in. The C wrappers of CANN's Python package and
the generated op libraries are looked for in the ``ge/_capi`` directory of
CANN's package, wherever the installer put it (:func:`capi_dirs`): the
``<root>/python/site-packages`` of each root (``--pylocal``), then every
``sys.path`` entry, then the installer's other places that a virtual
environment or ``-s`` hides (the user site, the running interpreter's and its
base interpreter's site-packages). The rest are looked for in
``<root>/<arch>-linux/lib64`` and ``<root>/lib64``. Last comes the plain file
name, through the dynamic loader (``LD_LIBRARY_PATH``). Nothing is loaded at
import time, and nothing is preloaded: the wrappers' own dependencies
(``libge_runner.so``, ``libgraph.so``) are found by the dynamic loader
through ``LD_LIBRARY_PATH``, as CANN's ``set_env.sh`` sets it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import site
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ge._ffi.errors import CannVersionError, GeError, LibraryNotFoundError

ENV_LIBRARY = "GE_FFI_LIBRARY"
ENV_LIBRARY_DIR = "GE_FFI_LIBRARY_DIR"
ROOT_ENV_VARS = ("ASCEND_HOME_PATH", "ASCEND_TOOLKIT_HOME", "ASCEND_OPP_PATH")
DEFAULT_ROOTS = ("/usr/local/Ascend/ascend-toolkit/latest", "/usr/local/Ascend/cann")
LIB_SUBDIRS = (f"{platform.machine()}-linux/lib64", "lib64")
"""Where a CANN root holds its own libraries."""
CAPI_SUBDIR = os.path.join("ge", "_capi")
SITE_PACKAGES = os.path.join("python", "site-packages")

GROUP_FILES: dict[str, tuple[str, ...]] = {
    "acl": ("libascendcl.so",),
    "ge": ("libge_runtime_wrapper.so",),
    "graph": ("libgraph_wrapper.so",),
    "ops": ("libes_all.so", "libes_math.so"),
    "builder": ("libeager_style_graph_builder_base.so",),
    "stub": ("libge_stub_core.so",),
}
"""Library file names of each group, in the order they are searched (every one
found is loaded)."""

CAPI_FILES = frozenset(
    {"libge_runtime_wrapper.so", "libgraph_wrapper.so", "libes_all.so", "libes_math.so"}
)
"""Files that live in ``ge/_capi`` (CANN's Python package), not in a ``lib64``."""

GLOBAL_NOW = ctypes.RTLD_GLOBAL | os.RTLD_NOW
GROUP_MODES: dict[str, int] = {"ops": GLOBAL_NOW, "builder": GLOBAL_NOW}
"""dlopen modes other than the default: the op libraries and the builder base
library, as CANN's own package loads them."""
LOAD_FIRST: dict[str, tuple[str, ...]] = {"builder": ("ops",)}
"""Groups loaded (or tried) before a group: the generated op libraries before the
builder base library, whose ``EsAdd``... are weak placeholders."""

VERSION_FLOOR = "9.1.0"
FLOOR_SYMBOLS = ("GeApiWrapper_Session_FreeTensorArray", "GeApiWrapper_GEGetErrorMsg")
"""A runtime wrapper without these is older than CANN 9.1.0 (ABI.md section 1)."""

HINT = (
    f"Install CANN and source its set_env.sh, or set {ENV_LIBRARY_DIR} to the directory "
    f"holding the libraries, or {ENV_LIBRARY} to one library exporting every symbol "
    "(the stand-in: python -c 'import ge.testing; print(ge.testing.build_stub_library())')."
)
OPS_HINT = (
    "EsAdd, EsSub, EsMul and EsDiv live in an op library that CANN does not install: "
    "generate libes_all.so (or libes_math.so) with GE's add_es_library tooling and put it "
    "in ge/_capi of CANN's Python package or on LD_LIBRARY_PATH. (The EsAdd... of "
    "libeager_style_graph_builder_base.so are placeholders that only return NULL.)"
)
STUB_HINT = (
    f"the stand-in's control symbols are in its libge_stub_core.so, or in {ENV_LIBRARY} "
    "(see ge.testing)"
)
SET_ENV_HINT = (
    "A library it needs is not on LD_LIBRARY_PATH (CANN's libraries have no RPATH): "
    "source {set_env} first."
)

_OUR_PACKAGE = Path(__file__).resolve().parent.parent


@dataclass
class GroupLoad:
    """The outcome of loading one library group."""

    group: str
    libraries: list[ctypes.CDLL] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    attempts: list[tuple[str, str]] = field(default_factory=list)
    error: Optional[GeError] = None


def search_roots() -> list[str]:
    """The CANN roots searched, in order, from the environment and defaults."""
    roots: list[str] = []
    for var in ROOT_ENV_VARS:
        value = os.environ.get(var)
        if not value:
            continue
        path = os.path.join(value, "..") if var == "ASCEND_OPP_PATH" else value
        roots.append(os.path.normpath(path))
    roots.extend(DEFAULT_ROOTS)
    return list(dict.fromkeys(roots))


def _is_ours(site_dir: Path) -> bool:
    """Whether ``site_dir/ge`` is this package (whose ``_capi`` is not CANN's)."""
    try:
        return (site_dir / "ge").resolve() == _OUR_PACKAGE
    except OSError:
        return False


def capi_dirs_on_sys_path() -> list[str]:
    """``<entry>/ge/_capi`` of every ``sys.path`` entry that has one (CANN's wheel
    installed into an interpreter), this package's own directory excepted."""
    found: list[str] = []
    for entry in sys.path:
        base = Path(entry or os.getcwd())
        capi = base / CAPI_SUBDIR
        try:
            if not capi.is_dir() or _is_ours(base):
                continue
        except OSError:
            continue
        found.append(str(capi))
    return found


def installer_site_dirs() -> list[str]:
    """The site-packages directories CANN's installer may put its wheel in, whether
    or not they are on ``sys.path``, in the order Python itself ranks them.

    CANN's installer runs ``pip install --user`` when not root and a plain
    ``pip install`` (the system interpreter's site-packages) as root. A virtual
    environment without system site-packages has neither on ``sys.path``, and
    ``-s``/``-I`` drop the user site. Order: the user site
    (``site.getusersitepackages()``, which honours ``PYTHONUSERBASE``) before the
    site-packages, as ``site.py`` orders them on ``sys.path``; the running
    interpreter's (``sys.prefix``) before its base interpreter's
    (``sys.base_prefix``), as a virtual environment's packages shadow its base's.
    """
    dirs: list[str] = []
    with contextlib.suppress(AttributeError, OSError):  # a site module without a user site
        dirs.append(site.getusersitepackages())
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        try:
            dirs.extend(site.getsitepackages([prefix]))
        except (AttributeError, OSError):
            continue
    return list(dict.fromkeys(d for d in dirs if d))


def capi_dirs() -> list[str]:
    """Every ``ge/_capi`` directory of CANN's Python package searched, in order.

    1. ``<root>/python/site-packages/ge/_capi`` of each CANN root: the
       ``--pylocal`` install, which ``set_env.sh`` puts first on ``PYTHONPATH``;
    2. ``ge/_capi`` of each ``sys.path`` entry, in ``sys.path`` order: the
       package a plain ``import ge`` of CANN's would load its libraries from
       (CANN's package loads them from its own ``_capi``);
    3. ``ge/_capi`` of :func:`installer_site_dirs` (listed even when absent, so
       that the error of a failed search shows them), this package's own
       site-packages excepted.
    """
    dirs = [os.path.join(root, SITE_PACKAGES, CAPI_SUBDIR) for root in search_roots()]
    dirs.extend(capi_dirs_on_sys_path())
    for site_dir in installer_site_dirs():
        if not _is_ours(Path(site_dir)):
            dirs.append(os.path.join(site_dir, CAPI_SUBDIR))
    normalised = (os.path.normpath(d) for d in dirs)
    return list(dict.fromkeys(normalised))


def candidate_paths(file_name: str) -> list[str]:
    """Every path tried for one library file, the bare name last."""
    paths: list[str] = []
    lib_dir = os.environ.get(ENV_LIBRARY_DIR)
    if lib_dir:
        paths.append(os.path.join(lib_dir, file_name))
    if file_name in CAPI_FILES:
        paths.extend(os.path.join(d, file_name) for d in capi_dirs())
    else:
        for root in search_roots():
            paths.extend(os.path.join(root, sub, file_name) for sub in LIB_SUBDIRS)
    paths.append(file_name)
    return list(dict.fromkeys(paths))


def _open(path: str, mode: int) -> tuple[Optional[ctypes.CDLL], str]:
    if os.sep in path and not os.path.exists(path):
        return None, "no such file"
    try:
        return ctypes.CDLL(path, mode=mode), ""
    except OSError as exc:
        return None, str(exc)


def _load_file(file_name: str, mode: int, attempts: list[tuple[str, str]]) -> Optional[ctypes.CDLL]:
    for path in candidate_paths(file_name):
        lib, err = _open(path, mode)
        if lib is not None:
            return lib
        attempts.append((path, err))
    return None


def _missing_dependency(path: str, error: str) -> bool:
    """The file exists but a library it needs could not be found."""
    if os.sep not in path or not os.path.exists(path):
        return False
    missing = error.split(":", 1)[0].strip()
    return "cannot open shared object file" in error and missing != os.path.basename(path)


def _cann_root_of(path: str) -> Optional[str]:
    """The CANN root a library file belongs to, when that can be told."""
    for root in search_roots():
        if path.startswith(root.rstrip(os.sep) + os.sep):
            return root
    marker = os.sep + SITE_PACKAGES + os.sep
    if marker in path:
        return path.split(marker, 1)[0]
    return None


def _not_found(group: str, attempts: list[tuple[str, str]]) -> LibraryNotFoundError:
    """The error of a group none of whose files loaded, with the likeliest remedy."""
    for path, err in attempts:
        if _missing_dependency(path, err):
            root = _cann_root_of(path)
            where = os.path.join(root, "set_env.sh") if root else "<cann>/set_env.sh"
            return LibraryNotFoundError(group, attempts, SET_ENV_HINT.format(set_env=where))
    return LibraryNotFoundError(
        group, attempts, {"ops": OPS_HINT, "stub": STUB_HINT}.get(group, HINT)
    )


def _has_symbol(lib: ctypes.CDLL, name: str) -> bool:
    try:
        lib[name]
    except AttributeError:
        return False
    return True


def _check_version_floor(result: GroupLoad) -> None:
    """Refuse a runtime wrapper older than CANN 9.1.0, before any session call."""
    for lib, path in zip(result.libraries, result.paths):
        missing = [name for name in FLOOR_SYMBOLS if not _has_symbol(lib, name)]
        if missing:
            result.error = CannVersionError(path, missing, VERSION_FLOOR)
            return


class Loader:
    """Loads library groups on first use and remembers the outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, GroupLoad] = {}

    def reset(self) -> None:
        """Forget every outcome, so that the next use searches again."""
        with self._lock:
            self._groups.clear()

    def load(self, group: str) -> GroupLoad:
        """The outcome for ``group``, loading it now (after its ``LOAD_FIRST``
        groups) if it was not tried yet."""
        with self._lock:
            for first in LOAD_FIRST.get(group, ()):
                self._once(first)
            return self._once(group)

    def _once(self, group: str) -> GroupLoad:
        found = self._groups.get(group)
        if found is None:
            found = self._groups[group] = self._load(group)
        return found

    def _load(self, group: str) -> GroupLoad:
        result = GroupLoad(group)
        single = os.environ.get(ENV_LIBRARY)
        if single:
            lib, err = _open(single, ctypes.DEFAULT_MODE)
            if lib is None:
                result.attempts.append((single, err))
                result.error = LibraryNotFoundError(
                    group, result.attempts, f"{ENV_LIBRARY} names a library that cannot be loaded."
                )
            else:
                result.libraries.append(lib)
                result.paths.append(single)
        else:
            mode = GROUP_MODES.get(group, ctypes.DEFAULT_MODE)
            for name in GROUP_FILES[group]:
                lib = _load_file(name, mode, result.attempts)
                if lib is not None:
                    result.libraries.append(lib)
                    result.paths.append(getattr(lib, "_name", name))
            if not result.libraries:
                result.error = _not_found(group, result.attempts)
        if group == "ge" and result.error is None:
            _check_version_floor(result)
        return result
