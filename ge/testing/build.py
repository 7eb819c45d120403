"""Compiling the stand-in into a cache directory keyed by its sources.

Two builds of the same sources (``stubs/README.md``, "Source layout"):

* :func:`build_stub_library`: one library exporting every symbol, used
  through ``GE_FFI_LIBRARY``;
* :func:`build_cann_layout`: CANN's separate libraries, each exporting only
  its own symbols over one shared core library, laid out in a fake CANN
  install tree with its ``set_env.sh``.

Which library exports which symbol, and where it is installed, is the one
table ``stubs/symbols.def`` (:func:`read_symbol_table`); every library is
linked with a version script generated from it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

SYMBOL_TABLE = "symbols.def"
MARKER_NAMES = (SYMBOL_TABLE, "stub_internal.h")
SOURCE_PATTERNS = ("*.c", "*.h", "*.def")
CFLAGS = ("-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC")
LDFLAGS = ("-shared", "-Wl,-z,defs")
LIBS = ("-lpthread",)
ENV_CACHE_DIR = "GE_STUB_CACHE_DIR"

CORE = "ge_stub_core"
"""Stem of the shared core library of the CANN layout (``libge_stub_core.so``)."""
CORE_INTERNAL_EXPORTS = ("ge_stub_enter", "ge_stub_leave", "*_locked", "*_unlocked")
"""What the core exports to the other libraries besides the ``GeStub_`` controls
(patterns of the version script)."""

INSTALL_DIRS = ("LIB64", "ARCH_LIB64", "CAPI")
VERSION_INFO = "share/info/ge-compiler/version.info"
"""Where a CANN install records the release of hicann/ge's component (its
``cmake/package.cmake``: ``share/info/<component>/version.info``)."""
MODELLED_RELEASE = "9.1.0"
"""The hicann/ge release whose C ABI the stand-in models (docs/abi.md section 1)."""
CAPI_DIR = "python/site-packages/ge/_capi"

PathLike = Union[str, "os.PathLike[str]"]


class StubBuildError(RuntimeError):
    """The stand-in library could not be built (no compiler, or it failed)."""


@dataclass(frozen=True)
class LibrarySpec:
    """One library of the CANN layout: ``lib<stem>.so``, where it goes, what it needs."""

    stem: str
    install: str
    needs: tuple[str, ...]

    @property
    def file_name(self) -> str:
        """``lib<stem>.so``."""
        return f"lib{self.stem}.so"

    def install_dir(self, root: Path, machine: Optional[str] = None) -> Path:
        """The directory of a CANN tree at ``root`` that holds this library."""
        if self.install == "LIB64":
            return root / "lib64"
        if self.install == "ARCH_LIB64":
            return root / f"{machine or platform.machine()}-linux" / "lib64"
        return root / CAPI_DIR


@dataclass(frozen=True)
class SymbolTable:
    """``stubs/symbols.def``: the libraries, and which one defines each symbol."""

    libraries: dict[str, LibrarySpec]
    symbols: dict[str, str]
    """Each exported symbol's library stem (its strong definition)."""
    failable: frozenset[str]
    weak: dict[str, tuple[str, ...]]
    """Per library stem, the weak placeholders it also exports."""

    def exports(self, stem: str) -> frozenset[str]:
        """Every symbol ``lib<stem>.so`` exports: its own and its weak placeholders."""
        own = {name for name, lib in self.symbols.items() if lib == stem}
        return frozenset(own | set(self.weak.get(stem, ())))

    def build_order(self) -> list[str]:
        """Library stems, each after the libraries it needs."""
        done: list[str] = []

        def visit(stem: str, path: tuple[str, ...]) -> None:
            if stem in done:
                return
            if stem in path:
                raise StubBuildError(f"{SYMBOL_TABLE}: a cycle of needed libraries: {path}")
            for need in self.libraries[stem].needs:
                visit(need, (*path, stem))
            done.append(stem)

        for stem in self.libraries:
            visit(stem, ())
        return done


_ENTRY = re.compile(r"^(LIBRARY|SYMBOL|WEAK)\(([^)]*)\)$")


def read_symbol_table(path: Optional[PathLike] = None) -> SymbolTable:
    """Parse ``symbols.def`` (default: the one of :func:`stub_source_dir`)."""
    file = Path(path) if path is not None else stub_source_dir() / SYMBOL_TABLE
    text = re.sub(r"/\*.*?\*/", "", file.read_text(), flags=re.S)
    libraries: dict[str, LibrarySpec] = {}
    symbols: dict[str, str] = {}
    failable: set[str] = set()
    weak: dict[str, list[str]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        match = _ENTRY.match(line)
        if match is None:
            raise StubBuildError(f"{file}:{number}: not an entry: {line!r}")
        kind, args = match.group(1), [a.strip() for a in match.group(2).split(",")]
        if kind == "LIBRARY":
            if len(args) < 2 or args[1] not in INSTALL_DIRS:
                raise StubBuildError(f"{file}:{number}: bad LIBRARY entry: {line!r}")
            libraries[args[0]] = LibrarySpec(args[0], args[1], tuple(args[2:]))
        elif kind == "SYMBOL":
            if len(args) != 3 or args[2] not in ("FAILABLE", "PLAIN") or args[0] in symbols:
                raise StubBuildError(f"{file}:{number}: bad SYMBOL entry: {line!r}")
            symbols[args[0]] = args[1]
            if args[2] == "FAILABLE":
                failable.add(args[0])
        else:
            if len(args) != 2:
                raise StubBuildError(f"{file}:{number}: bad WEAK entry: {line!r}")
            weak.setdefault(args[1], []).append(args[0])
    for stem in [*symbols.values(), *weak]:
        if stem not in libraries:
            raise StubBuildError(f"{file}: library {stem!r} has no LIBRARY entry")
    for spec in libraries.values():
        for need in spec.needs:
            if need not in libraries:
                raise StubBuildError(f"{file}: {spec.stem} needs unknown library {need!r}")
    return SymbolTable(
        libraries, symbols, frozenset(failable), {k: tuple(v) for k, v in weak.items()}
    )


def stub_source_dir() -> Path:
    """Where the stand-in's C sources are: ``stubs/`` of a checkout, else package data."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent.parent / "stubs", here / "stub_sources"):
        if all((candidate / name).is_file() for name in MARKER_NAMES):
            return candidate
    raise StubBuildError(f"the stand-in's sources ({', '.join(MARKER_NAMES)}) are not installed")


def source_files(sources: Optional[Path] = None) -> list[Path]:
    """Every file the build reads (C sources, headers, the symbol table), sorted."""
    base = sources or stub_source_dir()
    return sorted({p for pattern in SOURCE_PATTERNS for p in base.glob(pattern)})


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


def _digest(cc: Sequence[str], sources: Path, *extra: str) -> str:
    """A hash of the compiler, the flags, every source file, this module and ``extra``."""
    digest = hashlib.sha256()
    for part in (*cc, *CFLAGS, *LDFLAGS, *LIBS, platform.machine(), *extra):
        digest.update(part.encode() + b"\0")
    for file in source_files(sources):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:20]


def _write_version_script(path: Path, names: Iterable[str]) -> Path:
    """A linker version script exporting exactly ``names`` (patterns allowed)."""
    exported = sorted(names)
    globals_ = "".join(f"    {name};\n" for name in exported)
    head = f"  global:\n{globals_}" if exported else ""
    path.write_text(f"{{\n{head}  local:\n    *;\n}};\n")
    return path


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StubBuildError(f"{what} failed ({shlex.join(argv)}):\n{done.stderr.strip()}")


def build_stub_library(cache_dir: Optional[PathLike] = None) -> Path:
    """Compile the single stand-in library (once per distinct source and flags).

    It exports every symbol of ``symbols.def`` and nothing else. Safe when
    several processes build at once: each compiles to a private temporary
    file and renames it into place atomically.
    """
    sources = stub_source_dir()
    cc = _compiler()
    target_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = target_dir / f"libge_stub-{_digest(cc, sources, 'single')}.so"
    if target.is_file():
        return target
    table = read_symbol_table(sources / SYMBOL_TABLE)
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".libge_stub-", dir=target_dir) as tmp:
        script = _write_version_script(Path(tmp) / "exports.map", table.symbols)
        out = Path(tmp) / "libge_stub.so"
        c_files = [str(p) for p in source_files(sources) if p.suffix == ".c"]
        argv = [*cc, *CFLAGS, *LDFLAGS, *c_files, "-o", str(out)]
        _run([*argv, f"-Wl,--version-script={script}", *LIBS], "compiling the stand-in")
        os.replace(out, target)
    return target


def build_cann_layout(dest: Optional[PathLike] = None, *, omit_symbols: Iterable[str] = ()) -> Path:
    """Build CANN's separate libraries into a fake CANN tree; return its root.

    The tree (``<root>/lib64``, ``<root>/<arch>-linux/lib64``,
    ``<root>/python/site-packages/ge/_capi``, ``<root>/set_env.sh``, the release in
    ``<root>/share/info/ge-compiler/version.info``) is
    cached in ``dest`` (default: the cache directory) by a hash of the
    sources, the flags and ``omit_symbols``. The libraries have no RPATH:
    as on CANN, they find each other through ``LD_LIBRARY_PATH``, which
    ``set_env.sh`` sets. ``omit_symbols`` leaves those symbols unexported
    (to model an older CANN release).
    """
    sources = stub_source_dir()
    cc = _compiler()
    table = read_symbol_table(sources / SYMBOL_TABLE)
    omitted = frozenset(omit_symbols)
    unknown = omitted - set(table.symbols)
    if unknown:
        raise ValueError(f"not symbols of {SYMBOL_TABLE}: {sorted(unknown)}")
    target_dir = Path(dest) if dest is not None else default_cache_dir()
    root = target_dir / f"cann-{_digest(cc, sources, 'layout', *sorted(omitted))}"
    if (root / "set_env.sh").is_file():
        return root
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".cann-", dir=target_dir) as tmp:
        stage = Path(tmp) / "stage"
        stage.mkdir()
        for stem in table.build_order():
            _build_layout_library(cc, sources, table, stem, stage, omitted)
        tree = Path(tmp) / "cann"
        _install_tree(table, stage, tree)
        try:
            tree.rename(root)
        except OSError:
            if not (root / "set_env.sh").is_file():  # not a concurrent build's result
                raise
    return root


def _build_layout_library(
    cc: Sequence[str],
    sources: Path,
    table: SymbolTable,
    stem: str,
    stage: Path,
    omitted: frozenset[str],
) -> None:
    spec = table.libraries[stem]
    exports: set[str] = set(table.exports(stem) - omitted)
    if stem == CORE:
        exports.update(CORE_INTERNAL_EXPORTS)
        c_files = [p for p in source_files(sources) if p.suffix == ".c"]
        c_files = [p for p in c_files if not p.name.startswith("lib_")]
    else:
        c_files = [sources / f"lib_{stem}.c"]
    script = _write_version_script(stage / f"{stem}.map", exports)
    needs = [f"-l{need}" for need in spec.needs]
    argv = [
        *cc,
        *CFLAGS,
        *LDFLAGS,
        *(str(p) for p in c_files),
        "-o",
        str(stage / spec.file_name),
        f"-Wl,-soname,{spec.file_name}",
        f"-Wl,--version-script={script}",
        f"-L{stage}",
        "-Wl,--no-as-needed",
        *needs,
        *LIBS,
    ]
    _run(argv, f"building {spec.file_name}")


def _install_tree(table: SymbolTable, stage: Path, tree: Path) -> None:
    lib64 = tree / "lib64"
    for spec in table.libraries.values():
        where = spec.install_dir(tree)
        where.mkdir(parents=True, exist_ok=True)
        shutil.copy2(stage / spec.file_name, where / spec.file_name)
        if spec.install == "ARCH_LIB64":  # "also reached as <cann>/lib64" (docs/abi.md section 2)
            lib64.mkdir(parents=True, exist_ok=True)
            (lib64 / spec.file_name).symlink_to(os.path.relpath(where / spec.file_name, lib64))
    (tree / "set_env.sh").write_text(SET_ENV)
    info = tree / VERSION_INFO
    info.parent.mkdir(parents=True)
    info.write_text(f"Version={MODELLED_RELEASE}\n")


SET_ENV = """\
# set_env.sh of the stand-in's fake CANN tree (written by ge.testing.build_cann_layout).
# As CANN's own set_env.sh: source it before using the libraries, which have no
# RPATH and find each other through LD_LIBRARY_PATH.
_ge_stub_cann="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
export ASCEND_HOME_PATH="$_ge_stub_cann"
export ASCEND_TOOLKIT_HOME="$_ge_stub_cann"
export ASCEND_OPP_PATH="$_ge_stub_cann/opp"
export ASCEND_AICPU_PATH="$_ge_stub_cann"
_ge_stub_libs="$_ge_stub_cann/lib64:$_ge_stub_cann/lib64/plugin/opskernel"
_ge_stub_libs="$_ge_stub_libs:$_ge_stub_cann/lib64/plugin/nnengine"
export LD_LIBRARY_PATH="$_ge_stub_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONPATH="$_ge_stub_cann/python/site-packages${PYTHONPATH:+:$PYTHONPATH}"
unset _ge_stub_cann _ge_stub_libs
"""
"""The ``set_env.sh`` of the fake tree: the variables CANN's sets that matter here."""
