"""The command line: ``ge-ffi``, ``python -m ge_ffi`` (and ``python -m ge``), with
``demo``, ``doctor`` and ``run``.

It lives outside the ``ge`` package so that it works where CANN's ``set_env.sh``
puts CANN's own ``ge`` first on ``PYTHONPATH``: :func:`main` first makes
``import ge`` get this distribution's package (:func:`ge_ffi.use_our_ge`),
then imports it. ``run`` does the same for a user's script or module.

A user error (a bad option, no C compiler for the stand-in, no library, a GE or
ACL call that fails) prints one line on stderr, naming the problem and the next
step, and no traceback: exit status 2 for usage errors, 1 for runtime failures.
``run`` exits with the status of the script it ran.
"""

from __future__ import annotations

import argparse
import builtins
import io
import os
import runpy
import sys
import types
import zipfile
from types import TracebackType
from typing import TYPE_CHECKING, Optional, TextIO, cast

from ge_ffi import Shadowing, shadowing, use_our_ge

if TYPE_CHECKING:
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
    """``python -m ge_ffi`` or ``python -m ge`` when run as a module, else the
    script's name (``ge-ffi``)."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "ge-ffi"
    if os.path.basename(argv0) == "__main__.py":
        package = os.path.basename(os.path.dirname(os.path.abspath(argv0)))
        return f"python -m {package if package in ('ge', 'ge_ffi') else 'ge_ffi'}"
    return os.path.basename(argv0)


def _device_index(text: str) -> int:
    """An ``argparse`` type: a device index, as the package checks one
    (``ge._checks.device_id``: 0 .. 2**31 - 1, a C ``int32_t``)."""
    from ge._checks import device_id

    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a device index (0, 1, ...)") from None
    try:
        return device_id(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value} is not a device index: {exc}") from None


def build_parser(prog: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser of the command line, named ``prog``."""
    name = prog or _prog_name()
    parser = argparse.ArgumentParser(
        prog=name,
        description=DESCRIPTION,
        epilog=EPILOG.format(prog=name),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    import ge

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
    sub.add_parser(
        "run",
        help="run a Python script or module with ge-ffi's 'ge', as python would",
        usage=f"{name} run [-h] (SCRIPT | -m MODULE) [ARG ...]",
        description=RUN_DESCRIPTION,
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
    """Entry point of ``ge-ffi``, ``python -m ge_ffi`` and ``python -m ge``; returns
    the exit status (``run`` raises the ``SystemExit`` of the script it runs)."""
    use_our_ge()  # before the first 'import ge'
    args_list = sys.argv[1:] if argv is None else list(argv)
    if args_list[:1] == ["run"]:
        return _run(prog or _prog_name(), args_list[1:])
    parser = build_parser(prog)
    args = parser.parse_args(args_list)  # exits 2 on a usage error, 0 for --help/--version
    name = parser.prog
    try:
        if args.command == "demo":
            return _demo(name, args.backend, args.device)
        from ge._doctor import run_doctor

        shadow = shadowing()
        note = explain_shadowing(shadow, name) if shadow is not None else []
        return run_doctor(
            verbose=args.verbose,
            prog=name,
            shadowing_note=note,
            shadowing_path=shadow.location if shadow is not None else None,
        )
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
        return run_demo(cast("BackendChoice", backend), device)
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


RUN_DESCRIPTION = """\
Run SCRIPT (or, with -m, MODULE) as 'python SCRIPT ARG...' (or 'python -m MODULE
ARG...') would, except that 'import ge' gets ge-ffi's package even where another
'ge' (CANN's own, which CANN's set_env.sh puts first on PYTHONPATH) comes first on
sys.path; sys.path is otherwise unchanged. The exit status is the script's."""


def _run_usage(prog: str, out: TextIO) -> None:
    print(f"usage: {prog} run [-h] (SCRIPT | -m MODULE) [ARG ...]", file=out)


def _run(prog: str, argv: list[str]) -> int:
    """``run SCRIPT ARG...`` or ``run -m MODULE ARG...``."""
    if argv[:1] in (["-h"], ["--help"]):
        _run_usage(prog, sys.stdout)
        print(f"\n{RUN_DESCRIPTION}", file=sys.stdout)
        return 0
    problem = ""
    if not argv:
        problem = "a script or -m MODULE is required"
    elif argv[0] == "-m" and len(argv) < 2:
        problem = "argument -m: expected one argument"
    elif argv[0].startswith("-") and argv[0] != "-m":
        problem = f"unrecognized arguments: {argv[0]}"
    if problem:
        _run_usage(prog, sys.stderr)
        print(f"{prog} run: error: {problem}", file=sys.stderr)
        return 2
    try:
        if argv[0] == "-m":
            module, args = argv[1], argv[2:]
            sys.argv = ["-m", *args]  # runpy puts the module's file in argv[0]
            _set_path0(os.getcwd())
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            script, args = argv[0], argv[1:]
            if not os.path.exists(script):
                print(
                    f"{prog} run: can't open file {os.path.abspath(script)!r}: "
                    "[Errno 2] No such file or directory",
                    file=sys.stderr,
                )
                return 2
            sys.argv = [script, *args]
            _set_path0(os.path.dirname(os.path.abspath(script)))
            _run_script(os.path.abspath(script))
    except SystemExit:
        raise
    except BaseException as exc:  # shown as Python shows an uncaught exception
        trimmed = _user_frames(exc.__traceback__)
        sys.excepthook(type(exc), exc.with_traceback(trimmed), trimmed)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    return 0


def _run_script(path: str) -> None:
    """Run a script file as ``python path`` does: in a fresh ``__main__`` module whose
    ``__file__`` is the absolute path, ``sys.argv`` left as given (a directory or a
    zip file with a ``__main__.py`` goes through ``runpy``)."""
    if not os.path.isfile(path) or zipfile.is_zipfile(path):
        runpy.run_path(path, run_name="__main__")
        return
    with io.open_code(path) as file:
        code = compile(file.read(), path, "exec", dont_inherit=True)
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__cached__ = None  # type: ignore[attr-defined]
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    previous = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        exec(code, module.__dict__)
    finally:
        if previous is not None:
            sys.modules["__main__"] = previous


def _set_path0(directory: str) -> None:
    """``sys.path[0]`` as Python sets it for a script (its directory) or ``-m`` (the
    current directory), in place of this command's own."""
    if sys.path:
        sys.path[0] = directory
    else:
        sys.path.append(directory)


def _user_frames(tb: Optional[TracebackType]) -> Optional[TracebackType]:
    """The traceback without the frames of this module and ``runpy``."""
    own = {os.path.abspath(__file__), os.path.abspath(runpy.__file__ or ""), "<frozen runpy>"}

    def mine(name: str) -> bool:
        return name in own or os.path.abspath(name) in own

    while tb is not None and mine(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


def explain_shadowing(shadow: Shadowing, prog: str) -> list[str]:
    """The lines saying in plain words that a plain ``import ge`` gets another
    package, why, and what to run instead."""
    whose = "CANN's own Python package" if shadow.is_canns else "another package"
    why = "PYTHONPATH, which CANN's set_env.sh sets," if shadow.from_pythonpath else "sys.path"
    lines = [
        f"note: 'import ge' in this interpreter gets {whose}, {shadow.location},",
        f"  not ge-ffi's: {why} puts {shadow.sys_path_entry} first.",
        f"  '{prog}' itself uses ge-ffi's package (the checks below are of it). For your own",
        "  code, keep that entry (it also holds te/tbe) and run:",
        f"    {prog} run script.py [ARG ...]     or    python -m ge_ffi run -m MODULE [ARG ...]",
        "    python -m pytest -p ge_ffi.pytest_plugin   (or pytest_plugins = "
        '["ge_ffi.pytest_plugin"] in conftest.py)',
    ]
    return lines
