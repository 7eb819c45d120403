"""``ge-ffi doctor``: what works here, CANN or the CPU stand-in, and why not.

The first lines say whether CANN's libraries are found and usable and whether
the stand-in can be built (a C compiler is found); ``--verbose`` adds every
path searched, the symbols missing and the environment. Exit status 0 when
CANN or the stand-in is usable, 1 when neither is.
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import sys
from pathlib import Path
from typing import Optional, Sequence, TextIO

import ge
from ge import _ffi, acl
from ge._ffi.loader import ENV_LIBRARY, ENV_LIBRARY_DIR, ROOT_ENV_VARS, search_roots
from ge._ffi.report import REQUIRED_GROUPS, FfiReport
from ge.error import GeError
from ge.testing.build import ENV_CACHE_DIR, StubBuildError, default_cache_dir, stub_source_dir

ENV_VARS = (ENV_LIBRARY, ENV_LIBRARY_DIR, *ROOT_ENV_VARS, "LD_LIBRARY_PATH", "CC", ENV_CACHE_DIR)

VERSION_FILES = (
    # each CANN component records its version in share/info/<component>/version.info
    # (hicann/ge cmake/package.cmake, "Version=..."); ge-compiler is hicann/ge's
    # package, the one that installs CANN's Python package and its C wrappers
    "share/info/ge-compiler/version.info",
    "share/info/ge-executor/version.info",
    f"{platform.machine()}-linux/ascend_toolkit_install.info",
    "ascend_toolkit_install.info",
    "version.info",
    "runtime/version.info",
    "compiler/version.info",
)
"""Files of a CANN install that hold its version, relative to a directory of it."""


def acl_api_version() -> Optional[str]:
    """``major.minor.patch`` of the ACL API from ``ge.acl.version()`` (``aclrtGetVersion``,
    not CANN's version); None when unknown."""
    try:
        found = acl.version()
    except GeError:
        return None
    return None if found is None else ".".join(map(str, found))


def _read_version(path: Path) -> Optional[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().lower() == "version" and value.strip():
            return value.strip()
    return None


def cann_version(library_paths: list[str]) -> Optional[tuple[str, str]]:
    """CANN's version and the file it was read from, or ``None``.

    Looks in the directories above each loaded library, then in the CANN roots
    searched, for the install's version file (``share/info/ge-compiler/version.info``,
    where hicann/ge's package records its release, then the toolkit's
    ``ascend_toolkit_install.info`` or ``version.info``: a ``version=`` line).
    """
    dirs: list[Path] = []
    for lib in library_paths:
        if os.sep in lib:
            dirs.extend(list(Path(lib).resolve().parents)[:6])  # <cann>/python/.../_capi
    dirs.extend(Path(root) for root in search_roots())
    for directory in dict.fromkeys(dirs):
        for name in VERSION_FILES:
            found = _read_version(directory / name)
            if found:
                return found, str(directory / name)
    return None


def shadowing_packages() -> list[str]:
    """Other ``ge`` packages or modules on ``sys.path`` besides this one."""
    ours = Path(__file__).resolve().parent
    found = []
    for entry in sys.path:
        base = Path(entry or os.getcwd())
        for candidate in (base / "ge", base / "ge.py"):
            if candidate.exists() and candidate.resolve() != ours:
                found.append(str(candidate))
    return found


def c_compiler() -> Optional[str]:
    """The C compiler the stand-in would be built with (``$CC``, else ``cc``), if found."""
    argv = shlex.split(os.environ.get("CC") or "cc")
    return shutil.which(argv[0]) if argv else None


def _report_groups(report: FfiReport, out: TextIO) -> None:
    for group in report.groups:
        if group.error is None:
            state = "ok" if group.ok else "incomplete"
            print(f"  [{state}] {group.group}: {', '.join(group.paths)}", file=out)
            for name in group.missing:
                print(f"      missing required symbol: {name}", file=out)
            for name in group.missing_optional:
                print(f"      optional symbol absent: {name}", file=out)
        else:
            label = "info" if group.group == "stub" else "missing"
            print(f"  [{label}] {group.group}: not loaded", file=out)
            for path, err in group.attempts:
                print(f"      tried {path}: {err}", file=out)


def run_doctor(
    out: TextIO = sys.stdout,
    *,
    verbose: bool = False,
    prog: str = "ge-ffi",
    shadowing_note: Sequence[str] = (),
    shadowing_path: Optional[str] = None,
) -> int:
    """Print what works here; 0 when CANN or the stand-in is usable, 1 when neither is.

    ``prog`` is the command's name as invoked, used in the commands suggested.
    ``shadowing_note``: the lines (from ``ge_ffi``, which finds it before ``ge`` is
    imported) explaining that a plain ``import ge`` gets the package at
    ``shadowing_path``, printed instead of the one-line warning about it.
    """

    def say(line: str) -> None:
        print(line, file=out)

    explicit = os.environ.get(ENV_LIBRARY)
    report = _ffi.describe()
    is_stub = report.ok and _ffi.has("GeStub_Reset")
    libraries = sorted({p for g in report.groups if g.group != "stub" for p in g.paths})
    usable = False

    say(f"ge-ffi {ge.__version__}, Python {platform.python_version()}, {Path(ge.__file__).parent}")
    for line in shadowing_note:
        say(line)
    if explicit:
        what = "the CPU stand-in" if is_stub else "one library for every group"
        state = "usable" if report.ok else "NOT usable"
        say(f"{ENV_LIBRARY}={explicit}: {what}, {state} (it replaces the search for CANN)")
        usable = report.ok
    elif report.ok:
        version = cann_version(libraries)
        where = f"CANN {version[0]} (from {version[1]})" if version else "CANN version unknown"
        say(f"CANN: usable, {where}; '{prog} demo' runs on it")
        if not verbose:
            for group in report.groups:
                if group.group != "stub" and group.paths:
                    say(f"  {group.group}: {', '.join(group.paths)}")
            api = acl_api_version() or "unknown"
            say(f"  ACL API version (aclrtGetVersion, not the CANN release): {api}")
        usable = True
    else:
        found = [g for g in REQUIRED_GROUPS if report.group(g).error is None]
        if found:
            bad = ", ".join(g for g in REQUIRED_GROUPS if not report.group(g).ok)
            say(f"CANN: found but NOT usable: library groups {bad} missing or incomplete")
        else:
            roots = len(search_roots())
            say(f"CANN: not found (no libascendcl.so in the {roots} CANN roots searched or on")
            say("  LD_LIBRARY_PATH; on an Atlas host, source CANN's set_env.sh first)")

    compiler = c_compiler()
    try:
        sources: Optional[Path] = stub_source_dir()
    except StubBuildError:
        sources = None
    if compiler and sources:
        runs = "the tests run on it" if report.ok and not is_stub else (
            f"'{prog} demo' and the tests run on it"
        )  # fmt: skip
        say(f"CPU stand-in: usable (C compiler {compiler}); {runs}")
        usable = True
    elif not compiler:
        say("CPU stand-in: NOT usable, no C compiler found: install gcc or clang, or set CC")
    else:
        say("CPU stand-in: NOT usable, its C sources are not installed")

    for path in shadowing_packages():
        if path != shadowing_path:
            say(f"warning: another 'ge' on sys.path may shadow this one: {path}")

    if verbose:
        say("libraries:")
        _report_groups(report, out)
        if report.group("acl").ok:
            say(
                "ACL API version (aclrtGetVersion; not the CANN version): "
                f"{acl_api_version() or 'unknown'}"
            )
        say(f"stand-in sources: {sources or 'not installed'}; cache: {default_cache_dir()}")
        say("environment:")
        for var in ENV_VARS:
            say(f"  {var}={os.environ.get(var, '')}")
    elif not report.ok or explicit:
        say(f"('{prog} doctor --verbose' lists every path searched and the environment)")
    if not usable:
        say(
            "Nothing usable: install CANN and source its set_env.sh, or install a C compiler "
            "for the stand-in."
        )
    return 0 if usable else 1
