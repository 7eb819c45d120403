"""Compiling the stand-in library into a cache directory keyed by its sources."""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Union

SOURCE_NAMES = ("ge_stub.c",)
CFLAGS = ("-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared")
LDFLAGS = ("-lpthread",)
ENV_CACHE_DIR = "GE_STUB_CACHE_DIR"


class StubBuildError(RuntimeError):
    """The stand-in library could not be built (no compiler, or it failed)."""


def stub_source_dir() -> Path:
    """Where the stand-in's C sources are: ``stubs/`` of a checkout, else package data."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent.parent / "stubs", here / "stub_sources"):
        if all((candidate / name).is_file() for name in SOURCE_NAMES):
            return candidate
    raise StubBuildError(f"the stand-in's sources ({', '.join(SOURCE_NAMES)}) are not installed")


def default_cache_dir() -> Path:
    """``$GE_STUB_CACHE_DIR``, else ``$XDG_CACHE_HOME/ge-ffi``, else ``~/.cache/ge-ffi``."""
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ge-ffi"


def _compiler() -> list[str]:
    cc = os.environ.get("CC") or "cc"
    argv = shlex.split(cc)
    if not argv or shutil.which(argv[0]) is None:
        raise StubBuildError(
            f"no C compiler found ({cc!r} is not on PATH): the stand-in library is built "
            "from C sources; install gcc or clang (e.g. 'apt-get install gcc') or set CC"
        )
    return argv


def build_stub_library(cache_dir: Optional[Union[str, os.PathLike[str]]] = None) -> Path:
    """Compile the stand-in (once per distinct source and flags) and return its path.

    Safe when several processes build at once: each compiles to a private
    temporary file and renames it into place atomically.
    """
    sources = stub_source_dir()
    cc = _compiler()
    digest = hashlib.sha256()
    for part in (*cc, *CFLAGS, *LDFLAGS, platform.machine()):
        digest.update(part.encode() + b"\0")
    for name in SOURCE_NAMES:
        digest.update((sources / name).read_bytes())
    target_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = target_dir / f"libge_stub-{digest.hexdigest()[:20]}.so"
    if target.is_file():
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".libge_stub-", suffix=".so", dir=target_dir)
    os.close(fd)
    argv = [*cc, *CFLAGS, *(str(sources / n) for n in SOURCE_NAMES), "-o", tmp_name, *LDFLAGS]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StubBuildError(
                f"compiling the stand-in failed ({shlex.join(argv)}):\n{done.stderr.strip()}"
            )
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target
