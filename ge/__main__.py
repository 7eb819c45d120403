"""The command line: ``ge-ffi`` or ``python -m ge``, with ``demo`` and ``doctor``.

A user error (a bad option, no C compiler for the stand-in, no library, a GE or
ACL call that fails) prints one line on stderr, naming the problem and the next
step, and no traceback: exit status 2 for usage errors, 1 for runtime failures.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, cast

import ge
from ge.testing.backend import BackendChoice

DESCRIPTION = """\
Drive Huawei Ascend's Graph Engine (GE) and ACL runtime from Python.
Without an NPU, everything runs on a CPU stand-in library built from C sources."""

EPILOG = """\
exit status:
  0  success (demo: every result right; doctor: CANN or the stand-in is usable)
  1  runtime failure (a wrong result, a failed GE or ACL call, no library, no C compiler)
  2  usage error (an unknown command or a bad option)

Run '{prog} COMMAND --help' for a command's options."""


def _prog_name() -> str:
    """``python -m ge`` when run as a module, else the script's name (``ge-ffi``)."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "ge-ffi"
    if os.path.basename(argv0) == "__main__.py":
        return "python -m ge"
    return os.path.basename(argv0)


def _device_index(text: str) -> int:
    """An ``argparse`` type: a device index, a non-negative integer."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a device index (0, 1, ...)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not a device index (0, 1, ...)")
    return value


def build_parser(prog: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser of the command line, named ``prog``."""
    name = prog or _prog_name()
    parser = argparse.ArgumentParser(
        prog=name,
        description=DESCRIPTION,
        epilog=EPILOG.format(prog=name),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {ge.__version__}",
        help="print the version of ge-ffi and exit",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = sub.add_parser(
        "demo",
        help="run a graph synchronously and asynchronously and check the results",
        description=(
            "Initialise ACL and GE, build (x + y) * x with GraphBuilder, run it with "
            "run_graph, then with run_graph_with_stream_async and a CachingAllocator on "
            "a stream, check every number against numpy and release everything."
        ),
    )
    demo.add_argument(
        "--backend",
        choices=("auto", "cann", "stub"),
        default="auto",
        help="what to run on: 'cann' (the CANN libraries), 'stub' (the CPU stand-in, "
        "built with a C compiler) or 'auto': CANN where usable, else the stand-in "
        "(default: %(default)s)",
    )
    demo.add_argument(
        "--device",
        type=_device_index,
        default=0,
        metavar="N",
        help="the NPU device index to use (default: %(default)s)",
    )
    doctor = sub.add_parser(
        "doctor",
        help="say what works here: CANN, the CPU stand-in, and why not",
        description=(
            "Say whether CANN's libraries are found and usable, and whether the CPU "
            "stand-in can be built (a C compiler is found). Exit status 0 when either is "
            "usable, 1 when neither is."
        ),
    )
    doctor.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also list every library path searched, the optional symbols and the environment",
    )
    return parser


def _fail(prog: str, problem: str, next_step: str = "") -> int:
    """Print the one line of a runtime failure; return its exit status, 1."""
    line = " ".join(problem.split()) or "failed"
    if next_step:
        line = f"{line}; {next_step}"
    print(f"{prog}: error: {line}", file=sys.stderr, flush=True)
    return 1


def main(argv: Optional[list[str]] = None, prog: Optional[str] = None) -> int:
    """Entry point of ``ge-ffi`` and ``python -m ge``; returns the exit status."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)  # exits 2 on a usage error, 0 for --help/--version
    name = parser.prog
    try:
        if args.command == "demo":
            return _demo(name, args.backend, args.device)
        from ge._doctor import run_doctor

        return run_doctor(verbose=args.verbose)
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130


def _demo(prog: str, backend: str, device: int) -> int:
    from ge._demo import run_demo
    from ge._ffi.loader import ENV_LIBRARY, GROUP_FILES
    from ge.error import GeError, LibraryNotFoundError, MissingSymbolError
    from ge.testing import StubBuildError

    doctor = f"'{prog} doctor' tells what is usable here"
    try:
        return run_demo(cast(BackendChoice, backend), device)
    except StubBuildError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if "no C compiler" in first:  # the message says what to install
            return _fail(prog, f"the CPU stand-in cannot be built: {first}")
        return _fail(
            prog,
            f"the CPU stand-in cannot be built: {first.rstrip(':')}",
            "run python -c 'import ge.testing; ge.testing.build_stub_library()' for the "
            "compiler's messages",
        )
    except LibraryNotFoundError as exc:
        explicit = os.environ.get(ENV_LIBRARY)
        if explicit:
            why = exc.attempts[0][1] if exc.attempts else "it cannot be loaded"
            return _fail(
                prog,
                f"{ENV_LIBRARY}={explicit} cannot be loaded: {why}",
                f"unset {ENV_LIBRARY} or point it at a library that loads; {doctor}",
            )
        files = " or ".join(GROUP_FILES.get(exc.group, ())) or exc.group
        return _fail(
            prog,
            f"CANN's library {files} was not found",
            f"source CANN's set_env.sh, or use --backend stub; {doctor}",
        )
    except MissingSymbolError as exc:
        return _fail(
            prog,
            f"the loaded library lacks {exc.symbol}",
            f"use a CANN version that provides it, or --backend stub; {doctor}",
        )
    except GeError as exc:  # AclError included
        step = (
            f"check the device index against the devices present ({doctor})"
            if "device" in exc.context
            else doctor
        )
        summary = str(exc)
        if exc.error_message:  # GE's report spans lines: the one-line error leaves it out
            summary = summary.replace(f"; {exc.error_message}", "")
        return _fail(prog, summary.splitlines()[0], step)


if __name__ == "__main__":
    sys.exit(main())
