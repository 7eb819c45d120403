"""``python -m ge doctor``: ``ge._ffi.describe()`` for people."""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import Optional, TextIO

from ge import _ffi
from ge._ffi.loader import ENV_LIBRARY, ENV_LIBRARY_DIR, ROOT_ENV_VARS

ENV_VARS = (ENV_LIBRARY, ENV_LIBRARY_DIR, *ROOT_ENV_VARS, "LD_LIBRARY_PATH")


def cann_version() -> Optional[str]:
    """``major.minor.patch`` from ``aclrtGetVersion``, where the library has it."""
    if not _ffi.has("aclrtGetVersion"):
        return None
    major, minor, patch = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32()
    rc = _ffi.api.aclrtGetVersion(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(patch))
    return f"{major.value}.{minor.value}.{patch.value}" if rc == 0 else None


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


def run_doctor(out: TextIO = sys.stdout) -> int:
    """Print the report; 0 when GE and ACL are usable, 1 otherwise."""
    report = _ffi.describe()
    print(f"ge {Path(__file__).resolve().parent}", file=out)
    for group in report.groups:
        if group.error is None:
            state = "ok" if group.ok else "incomplete"
            print(f"[{state}] {group.group}: {', '.join(group.paths)}", file=out)
            for name in group.missing:
                print(f"    missing required symbol: {name}", file=out)
            for name in group.missing_optional:
                print(f"    optional symbol absent: {name}", file=out)
        else:
            label = "info" if group.group == "stub" else "missing"
            print(f"[{label}] {group.group}: not loaded", file=out)
            for path, err in group.attempts:
                print(f"    tried {path}: {err}", file=out)
    version = cann_version() if report.group("acl").ok else None
    print(f"CANN runtime version: {version or 'unknown'}", file=out)
    for var in ENV_VARS:
        print(f"{var}={os.environ.get(var, '')}", file=out)
    for path in shadowing_packages():
        print(f"warning: another 'ge' on sys.path may shadow this one: {path}", file=out)
    if report.ok:
        print("GE and ACL are usable.", file=out)
        return 0
    print(
        f"GE or ACL is not usable. Install CANN and source set_env.sh, or set {ENV_LIBRARY_DIR} "
        f"or {ENV_LIBRARY}.",
        file=out,
    )
    return 1
