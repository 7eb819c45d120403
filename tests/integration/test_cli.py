"""The command line (``ge-ffi`` and ``python -m ge``) and ``doctor``: exit statuses,
one line and no traceback for user errors, help for every option, CANN or the
stand-in. ``ge.testing.select_backend`` alone: ``tests/unit/testing/test_backend.py``."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest
from _helpers.processes import ROOT, run_select_backend, without_cann

import ge


def _script() -> str:
    """The ``ge-ffi`` console script of this environment."""
    beside = Path(sys.executable).parent / "ge-ffi"
    found = str(beside) if beside.exists() else shutil.which("ge-ffi")
    assert found, "the ge-ffi script is not installed"
    return found


def run(
    *args: str, env: Optional[dict[str, str]] = None, script: bool = False
) -> subprocess.CompletedProcess[str]:
    argv = [_script()] if script else [sys.executable, "-m", "ge"]
    return subprocess.run(
        [*argv, *args], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT
    )


def one_error_line(done: subprocess.CompletedProcess[str], prog: str = "python -m ge") -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    errors = [line for line in lines if line.startswith(f"{prog}: error: ")]
    assert len(errors) == 1, done.stderr
    return errors[0]


# -- version, help, prog ----------------------------------------------------


@pytest.mark.parametrize("script", [False, True], ids=["python -m ge", "ge-ffi"])
def test_version(script: bool) -> None:
    done = run("--version", script=script)
    assert done.returncode == 0
    prog = "ge-ffi" if script else "python -m ge"
    assert done.stdout == f"{prog} {ge.__version__}\n"


@pytest.mark.parametrize("script", [False, True], ids=["python -m ge", "ge-ffi"])
def test_help_names_the_program_as_invoked(script: bool) -> None:
    done = run("--help", script=script)
    assert done.returncode == 0
    prog = "ge-ffi" if script else "python -m ge"
    assert done.stdout.startswith(f"usage: {prog} ")
    assert f"Run '{prog} COMMAND --help'" in done.stdout
    assert "exit status:" in done.stdout


@pytest.mark.parametrize("command", [[], ["demo"], ["doctor"]])
def test_every_option_has_help_and_no_markup(command: list[str]) -> None:
    done = run(*command, "--help")
    assert done.returncode == 0
    assert "``" not in done.stdout and ":func:" not in done.stdout
    lines = done.stdout.splitlines()
    options = [i for i, line in enumerate(lines) if line.lstrip().startswith("-")]
    assert options
    for i in options:  # the help text is on the option's line or the next one
        rest = lines[i].strip().split("  ", 1)[1:] or [lines[i + 1]]
        assert rest[0].strip(), lines[i]
    if command == ["demo"]:
        assert "--backend {auto,cann,stub}" in done.stdout and "--device N" in done.stdout
    if command == ["doctor"]:
        assert "--verbose" in done.stdout


# -- usage errors: exit 2 -----------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [[], ["frobnicate"], ["demo", "--device", "abc"], ["demo", "--device", "-1"],
     ["demo", "--device", "3000000000"], ["demo", "--backend", "gpu"], ["doctor", "--nope"],
     ["run"], ["run", "-m"], ["run", "--nope"]],
)  # fmt: skip
def test_usage_errors_exit_2_without_traceback(args: list[str]) -> None:
    done = run(*args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith("python -m ge")
    assert "error: " in done.stderr.splitlines()[-1]
    if "3000000000" in args:  # beyond a C int32_t: the package's own device-id check
        assert "device id must be in 0..2147483647" in done.stderr


# -- runtime failures: exit 1, one line --------------------------------------


def test_a_device_that_does_not_exist(ge_stub_library: str) -> None:
    done = run("demo", "--backend", "stub", "--device", "7")
    assert done.returncode == 1
    line = one_error_line(done)
    assert "aclrtSetDevice failed; device=7, status=ACL_ERROR_INVALID_DEVICE (200002);" in line
    assert "EH9999" not in line  # ACL's own report spans lines: not in the one-line error
    assert "check the device index" in line and "doctor" in line


def test_no_c_compiler_for_the_stand_in(tmp_path: Path) -> None:
    env = without_cann(CC=str(tmp_path / "no-such-cc"), GE_STUB_CACHE_DIR=str(tmp_path))
    done = run("demo", env=env, script=True)
    assert done.returncode == 1
    line = one_error_line(done, "ge-ffi")
    assert "the CPU stand-in cannot be built: no C compiler found" in line
    assert "install gcc or clang" in line


def test_no_cann_library() -> None:
    done = run("demo", "--backend", "cann", env=without_cann())
    assert done.returncode == 1
    line = one_error_line(done)
    assert "CANN's library libascendcl.so was not found" in line
    assert "set_env.sh" in line and "--backend stub" in line


def test_a_stand_in_library_that_does_not_load(tmp_path: Path) -> None:
    broken = tmp_path / "libbroken.so"
    broken.write_text("not a library")
    done = run("demo", env=without_cann(GE_FFI_LIBRARY=str(broken)))
    assert done.returncode == 1
    line = one_error_line(done)
    assert f"GE_FFI_LIBRARY={broken} cannot be loaded: " in line
    assert "unset GE_FFI_LIBRARY" in line


# -- the demo -----------------------------------------------------------------


def test_demo_falls_back_to_the_stand_in_with_one_line(ge_stub_library: str) -> None:
    done = run("demo", env=without_cann())
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("ge: CANN not found: running on the CPU stand-in")
    assert len(done.stderr.splitlines()) == 1
    assert "backend: the CPU stand-in" in done.stdout and "result: correct" in done.stdout


def test_demo_runs_on_cann_where_found(fake_cann: Path) -> None:
    done = run("demo", env=without_cann(ASCEND_HOME_PATH=str(fake_cann)))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert f"backend: CANN, {fake_cann}/" in done.stdout
    assert "result: correct" in done.stdout


# -- doctor -------------------------------------------------------------------


def test_doctor_on_a_machine_without_cann(ge_stub_library: str) -> None:
    done = run("doctor", env=without_cann())
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    assert len(lines) <= 8, done.stdout
    assert lines[1].startswith("CANN: not found")
    assert any(
        line.startswith("CPU stand-in: usable (C compiler ")
        and "'python -m ge demo' and the tests run on it" in line
        for line in lines[2:4]
    ), done.stdout
    assert "tried " not in done.stdout  # every path only with --verbose
    verbose = run("doctor", "--verbose", env=without_cann())
    assert verbose.returncode == 0
    assert "tried /usr/local/Ascend/ascend-toolkit/latest/lib64/libascendcl.so" in verbose.stdout
    assert "LD_LIBRARY_PATH=" in verbose.stdout


def test_doctor_with_nothing_usable(tmp_path: Path) -> None:
    done = run("doctor", env=without_cann(CC=str(tmp_path / "no-such-cc")))
    assert done.returncode == 1
    assert "CPU stand-in: NOT usable, no C compiler found" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("Nothing usable")
    assert done.stderr == ""


def test_doctor_on_cann_reads_the_version_file_not_the_acl_api(fake_cann: Path) -> None:
    env = without_cann(ASCEND_HOME_PATH=str(fake_cann))
    done = run("doctor", env=env)
    assert done.returncode == 0, done.stdout
    info = fake_cann / f"{platform.machine()}-linux" / "ascend_toolkit_install.info"
    assert done.stdout.splitlines()[1] == (
        f"CANN: usable, CANN 8.0.RC9 (from {info}); 'python -m ge demo' runs on it"
    )
    # the ACL API version (the stand-in's aclrtGetVersion, as runtime's acl_rt.h) under
    # its own name, never as the CANN release; and the file each group loaded
    assert "ACL API version (aclrtGetVersion, not the CANN release): 1.17.0" in done.stdout
    assert "CANN 1.17" not in done.stdout
    for group in ("acl", "ge", "graph", "ops", "builder"):
        assert any(line.startswith(f"  {group}: /") for line in done.stdout.splitlines()), group
    verbose = run("doctor", "-v", env=env)
    assert "ACL API version (aclrtGetVersion; not the CANN version): 1.17.0" in verbose.stdout


def test_doctor_with_the_stand_in_chosen(ge_stub_library: str) -> None:
    done = run("doctor", env=without_cann(GE_FFI_LIBRARY=ge_stub_library))
    assert done.returncode == 0
    assert done.stdout.splitlines()[1].startswith(
        f"GE_FFI_LIBRARY={ge_stub_library}: the CPU stand-in, usable"
    )
    assert "CANN runtime version" not in done.stdout


def test_doctor_warns_about_a_shadowing_ge(tmp_path: Path, ge_stub_library: str) -> None:
    (tmp_path / "ge").mkdir()  # as CANN's set_env.sh puts its own 'ge' on PYTHONPATH
    code = (
        "import sys; from ge.__main__ import main; sys.path.append(sys.argv[1]); "
        "sys.exit(main(['doctor']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=without_cann(), cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0
    assert f"warning: another 'ge' on sys.path may shadow this one: {tmp_path}/ge" in done.stdout


def test_an_incomplete_cann_is_named_as_such(tmp_path: Path, ge_stub_library: str) -> None:
    """Only the ACL library present: doctor and the fallback say CANN is not usable."""
    (tmp_path / "lib64").mkdir()
    (tmp_path / "lib64" / "libascendcl.so").symlink_to(ge_stub_library)
    env = without_cann(ASCEND_HOME_PATH=str(tmp_path))
    done = run("doctor", env=env)
    assert done.returncode == 0  # the stand-in is usable
    assert done.stdout.splitlines()[1] == (
        "CANN: found but NOT usable: library groups ge, graph, builder, ops missing or incomplete"
    )
    fallback = run_select_backend(env)
    assert fallback.returncode == 0
    assert fallback.stderr.startswith("ge: CANN is not usable: running on the CPU stand-in")
    assert run_select_backend(env, "cann").returncode == 1


def test_the_cann_release_comes_from_ge_compiler_s_version_info(tmp_path: Path) -> None:
    """hicann/ge installs share/info/<component>/version.info ("Version=..."); the
    ge-compiler component's is GE's release, before the toolkit's install info."""
    from ge._doctor import cann_version

    root = tmp_path / "cann"
    info = root / "share" / "info" / "ge-compiler" / "version.info"
    info.parent.mkdir(parents=True)
    info.write_text("Version=9.1.0\n")
    toolkit = root / f"{platform.machine()}-linux" / "ascend_toolkit_install.info"
    toolkit.parent.mkdir(parents=True)
    toolkit.write_text("version=8.0.RC9\n")
    library = root / "python" / "site-packages" / "ge" / "_capi" / "libge_runtime_wrapper.so"
    library.parent.mkdir(parents=True)
    library.write_bytes(b"")
    assert cann_version([str(library)]) == ("9.1.0", str(info))
