"""Finding and loading the native libraries, lazily, as ``shared/ABI.md`` says.

Search order for each library group: ``GE_FFI_LIBRARY`` (one file for every
group), then ``GE_FFI_LIBRARY_DIR``, then each CANN root
(``$ASCEND_HOME_PATH``, ``$ASCEND_TOOLKIT_HOME``, ``$ASCEND_OPP_PATH/..``,
``/usr/local/Ascend/ascend-toolkit/latest``, ``/usr/local/Ascend/cann``) with
its library sub-directories, and last the plain file name through the dynamic
loader (``LD_LIBRARY_PATH``). Nothing is loaded at import time.
"""

from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass, field
from typing import Optional

from ge.error import LibraryNotFoundError

ENV_LIBRARY = "GE_FFI_LIBRARY"
ENV_LIBRARY_DIR = "GE_FFI_LIBRARY_DIR"
ROOT_ENV_VARS = ("ASCEND_HOME_PATH", "ASCEND_TOOLKIT_HOME", "ASCEND_OPP_PATH")
DEFAULT_ROOTS = ("/usr/local/Ascend/ascend-toolkit/latest", "/usr/local/Ascend/cann")
SUBDIRS = (
    "lib64",
    "runtime/lib64",
    "compiler/lib64",
    "python/site-packages/ge/_capi",
    "x86_64-linux/lib64",
    "aarch64-linux/lib64",
)

GROUP_FILES: dict[str, tuple[str, ...]] = {
    "acl": ("libascendcl.so",),
    "ge": ("libge_runtime_wrapper.so",),
    "graph": ("libgraph_wrapper.so",),
    "builder": ("libeager_style_graph_builder_base.so",),
    "ops": ("libes_all.so", "libes_math.so"),
    "stub": (),
}
"""Library file names of each group, in the order they are searched."""

PRELOAD_GLOBAL: dict[str, tuple[str, ...]] = {"ge": ("libge_runner.so",)}
"""Libraries loaded with ``RTLD_GLOBAL`` before a group (GE's runtime)."""

HINT = (
    f"Install CANN and source its set_env.sh, or set {ENV_LIBRARY_DIR} to the directory "
    f"holding the libraries, or {ENV_LIBRARY} to one library exporting every symbol "
    "(the stand-in: python -c 'import ge.testing; print(ge.testing.build_stub_library())')."
)


@dataclass
class GroupLoad:
    """The outcome of loading one library group."""

    group: str
    libraries: list[ctypes.CDLL] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    attempts: list[tuple[str, str]] = field(default_factory=list)
    error: Optional[LibraryNotFoundError] = None


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


def candidate_paths(file_name: str) -> list[str]:
    """Every path tried for one library file, the bare name last."""
    paths: list[str] = []
    lib_dir = os.environ.get(ENV_LIBRARY_DIR)
    if lib_dir:
        paths.append(os.path.join(lib_dir, file_name))
    for root in search_roots():
        paths.extend(os.path.join(root, sub, file_name) for sub in SUBDIRS)
    paths.append(file_name)
    return paths


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
        """The outcome for ``group``, loading it now if it was not tried yet."""
        with self._lock:
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
            return result
        if group == "stub":
            result.error = LibraryNotFoundError(
                group, [], f"the stand-in's control symbols need {ENV_LIBRARY} (see ge.testing)"
            )
            return result
        for name in PRELOAD_GLOBAL.get(group, ()):
            _load_file(name, ctypes.RTLD_GLOBAL, [])
        for name in GROUP_FILES[group]:
            lib = _load_file(name, ctypes.DEFAULT_MODE, result.attempts)
            if lib is not None:
                result.libraries.append(lib)
                result.paths.append(getattr(lib, "_name", name))
        if not result.libraries:
            result.error = LibraryNotFoundError(group, result.attempts, HINT)
        return result
