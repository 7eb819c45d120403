"""``ge`` on fake Atlas hosts: CANN's Python package where each installer mode puts it,
and CANN's own ``ge`` first on ``PYTHONPATH`` (issue 15).

Each tree is the stand-in built as CANN's separate libraries
(``ge.testing.build_cann_layout``), plus a fake CANN Python package (``ge``, whose
import fails as CANN's does without its wrappers' dependencies, and ``te``,
``tbe``). Children run with the environment the tree's ``set_env.sh`` produces,
no ``GE_FFI_*`` variable, and a working directory outside the checkout:

* ``--pylocal`` (``<cann>/python/site-packages``, first on ``PYTHONPATH``): CANN's
  ``ge`` shadows this package; ``ge-ffi run script.py``, ``python -m ge_ffi run -m
  module`` run the seed flow with this package, ``ge-ffi doctor`` explains, and
  pytest runs with ``-p ge_ffi.pytest_plugin`` (and without it, unaffected);
* ``--user`` (``PYTHONUSERBASE``), in a venv that does not see the user site;
* the running interpreter's site-packages, off ``sys.path`` (``python -S``).

The base interpreter's site-packages is in ``tests/unit/ffi/test_loader.py``
(``sys.base_prefix`` patched); the pylocal tree with this package first, the
refusal of an older release and a tree without op libraries are in
``tests/stub/test_layout.py``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Optional

import numpy
import pytest
from _helpers.cann_trees import copy_cann_tree, run_in_cann_env

import ge
import ge_ffi

OURS = Path(ge_ffi.__file__).resolve().parent.parent
"""The directory holding this distribution's ``ge`` and ``ge_ffi``."""
OUR_GE = Path(ge.__file__).resolve().parent
"""This distribution's ``ge`` as this process imports it (in CI's sdist job, the
unpacked tree the tests run from; see ``installed_ge`` for the children's)."""
SITE = os.path.join("python", "site-packages")

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash for set_env.sh")

FAKE_CANN_GE = '''\
"""A stand-in for CANN's own Python package 'ge' (wheel ge_py)."""
IS_CANN_GE = True
from ge._capi.pygeapi_wrapper import geapi_lib  # noqa: F401  (absent: fails as CANN's would)
'''

SEED = """\
import os, sys
import ge
assert "GE_FFI_LIBRARY" not in os.environ
print("GE_FILE", ge.__file__)
print("ARGV", sys.argv[1:])
from ge._demo import run_demo
assert run_demo("cann") == 0
from ge import _ffi
print("GE_LIB", _ffi.describe().group("ge").paths[0])
"""


def cann_tree(dest: Path) -> Path:
    """A copy of the stand-in's CANN tree at ``dest``, with a fake CANN ``ge``, ``te``
    and ``tbe`` in ``<dest>/python/site-packages`` (the ``--pylocal`` install)."""
    copy_cann_tree(dest)
    site = dest / SITE
    (site / "ge" / "__init__.py").write_text(FAKE_CANN_GE)
    (site / "ge" / "_capi" / "__init__.py").write_text("")
    for name in ("te", "tbe"):
        (site / name).mkdir()
        (site / name / "__init__.py").write_text("")
    return dest


def move_canns_package(tree: Path, site_dir: Path) -> None:
    """CANN's Python package moved from the pylocal place into ``site_dir``."""
    site_dir.mkdir(parents=True, exist_ok=True)
    for name in ("ge", "te", "tbe"):
        shutil.move(str(tree / SITE / name), str(site_dir / name))


def in_set_env(
    tree: Path,
    argv: list[str],
    cwd: Path,
    *,
    pythonpath: Optional[list[Path]] = None,
    extra_env: Optional[dict[str, str]] = None,
) -> subprocess.CompletedProcess[str]:
    """``argv`` after ``source <tree>/set_env.sh`` (``run_in_cann_env``);
    ``pythonpath`` appended after what set_env.sh puts there."""
    steps = []
    if pythonpath:
        tail = os.pathsep.join(str(p) for p in pythonpath)
        steps.append(f'export PYTHONPATH="$PYTHONPATH:"{shlex.quote(tail)}')
    return run_in_cann_env(tree, argv, cwd, shell_steps=steps, extra_env=extra_env)


def console_script() -> str:
    beside = Path(sys.executable).parent / "ge-ffi"
    found = str(beside) if beside.exists() else shutil.which("ge-ffi")
    assert found, "the ge-ffi script is not installed"
    return found


# -- pylocal: CANN's ge first on PYTHONPATH ------------------------------------------


@pytest.fixture(scope="module")
def shadowed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pylocal CANN tree; also the working directory of the children (``work``)."""
    tree = cann_tree(tmp_path_factory.mktemp("host") / "cann")
    work = tree.parent / "work"
    work.mkdir()
    canns = "import te, tbe  # CANN's other packages stay importable\n"
    (work / "seed.py").write_text(SEED + canns + "sys.exit(3)\n")
    (work / "seedmod.py").write_text(SEED + canns + "raise RuntimeError('boom from seedmod')\n")
    return tree


@pytest.fixture(scope="module")
def installed_ge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This distribution's ``ge`` as a child outside the checkout finds it: the one
    beside the installed ``ge_ffi`` (in CI's sdist job, the wheel's, not the
    unpacked tree this process imported)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", "import ge_ffi; print(ge_ffi.our_ge_dir())"],
        cwd=tmp_path_factory.mktemp("where"), env=env, capture_output=True, text=True,
        check=True, timeout=120,
    )  # fmt: skip
    found = Path(done.stdout.strip())
    assert (found / "__init__.py").is_file() and (found.parent / "ge_ffi").is_dir()
    return found


def test_a_plain_import_gets_canns_ge_there(shadowed: Path) -> None:
    """The premise: with set_env.sh's PYTHONPATH, 'import ge' is CANN's (and fails)."""
    done = in_set_env(shadowed, [sys.executable, "-c", "import ge"], shadowed.parent / "work")
    assert done.returncode == 1
    assert f"{shadowed / SITE / 'ge' / '__init__.py'}" in done.stderr
    assert "ModuleNotFoundError: No module named 'ge._capi.pygeapi_wrapper'" in done.stderr


def test_ge_ffi_run_script_runs_the_seed_flow_with_this_package(
    shadowed: Path, installed_ge: Path
) -> None:
    work = shadowed.parent / "work"
    done = in_set_env(shadowed, [console_script(), "run", "seed.py", "a", "--b"], work)
    assert done.returncode == 3, done.stdout + done.stderr  # the script's exit status
    assert f"GE_FILE {installed_ge / '__init__.py'}" in done.stdout
    assert "ARGV ['a', '--b']" in done.stdout
    assert "result: correct" in done.stdout
    # CANN's wrappers, found in CANN's package directory
    assert f"GE_LIB {shadowed / SITE / 'ge' / '_capi' / 'libge_runtime_wrapper.so'}" in done.stdout


def test_python_m_ge_ffi_run_m_module(shadowed: Path, installed_ge: Path) -> None:
    work = shadowed.parent / "work"
    argv = [sys.executable, "-m", "ge_ffi", "run", "-m", "seedmod", "x"]
    done = in_set_env(shadowed, argv, work)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"GE_FILE {installed_ge / '__init__.py'}" in done.stdout
    assert "ARGV ['x']" in done.stdout and "result: correct" in done.stdout
    # shown as Python shows it: the module's frame, not the runner's
    lines = done.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):", done.stderr
    assert lines[-1] == "RuntimeError: boom from seedmod"
    assert f'File "{work / "seedmod.py"}"' in done.stderr
    assert "runpy" not in done.stderr and "ge_ffi" not in done.stderr


def test_doctor_explains_the_shadowing_and_checks_this_package(
    shadowed: Path, installed_ge: Path
) -> None:
    done = in_set_env(shadowed, [console_script(), "doctor"], shadowed.parent / "work")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    out = " ".join(done.stdout.split())
    assert (
        f"'import ge' in this interpreter gets CANN's own Python package, {shadowed / SITE / 'ge'}"
        in out
    )
    assert "PYTHONPATH, which CANN's set_env.sh sets, puts" in out
    assert "ge-ffi run script.py" in out and "-p ge_ffi.pytest_plugin" in out
    assert done.stdout.splitlines()[0].endswith(str(installed_ge))  # the checks are of ours
    info = shadowed / "share" / "info" / "ge-compiler" / "version.info"
    assert f"CANN: usable, CANN 9.1.0 (from {info})" in done.stdout
    assert "ACL API version (aclrtGetVersion, not the CANN release): 1.17.0" in done.stdout


PLUGIN_TEST = """\
from pathlib import Path

import ge
import te


def test_fixtures_and_package(ge_stub):
    assert Path(ge.__file__).resolve().parent == Path({ours!r})
    assert ge_stub.live_counts()["sessions"] == 0
    assert te is not None
"""


def test_pytest_with_the_plugin_and_without_it(
    shadowed: Path, installed_ge: Path, tmp_path: Path
) -> None:
    (tmp_path / "test_with_plugin.py").write_text(PLUGIN_TEST.format(ours=str(installed_ge)))
    pytest_argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    done = in_set_env(shadowed, [*pytest_argv, "-p", "ge_ffi.pytest_plugin"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    # without the plugin, a project that does not use ge is not affected
    (tmp_path / "test_with_plugin.py").unlink()
    (tmp_path / "test_plain.py").write_text("import te\n\ndef test_plain():\n    assert te\n")
    done = in_set_env(shadowed, pytest_argv, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


# -- the installer's other places -----------------------------------------------------


def test_the_user_site_of_a_non_root_install(tmp_path: Path) -> None:
    """pip install --user: found through PYTHONUSERBASE though this venv does not
    put the user site on sys.path."""
    tree = cann_tree(tmp_path / "cann")
    userbase = tmp_path / "userbase"
    user_site = Path(sysconfig.get_path("purelib", f"{os.name}_user", {"userbase": str(userbase)}))
    move_canns_package(tree, user_site)
    code = (
        SEED + "import site; print('USER_SITE_ON_PATH', site.getusersitepackages() in sys.path)\n"
    )
    (tmp_path / "seed.py").write_text(code)
    done = in_set_env(
        tree,
        [sys.executable, "seed.py"],
        tmp_path,
        pythonpath=[OURS],
        extra_env={"PYTHONUSERBASE": str(userbase)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"GE_LIB {user_site / 'ge' / '_capi' / 'libge_runtime_wrapper.so'}" in done.stdout
    if sys.prefix != sys.base_prefix:  # a venv: the user site is not on sys.path
        assert "USER_SITE_ON_PATH False" in done.stdout


def test_the_running_interpreters_site_packages(tmp_path: Path) -> None:
    """A root install into the interpreter that runs the script (a venv here, seeing
    this package and numpy through a .pth): CANN's package in its site-packages,
    before the .pth entries, shadows this one; ``python -m ge_ffi run`` still works."""
    tree = cann_tree(tmp_path / "cann")
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    move_canns_package(tree, Path(site_dir))
    numpy_site = Path(numpy.__file__).resolve().parent.parent
    (Path(site_dir) / "ge_ffi_test.pth").write_text(f"{OURS}\n{numpy_site}\n")
    (tmp_path / "seed.py").write_text(SEED)
    plain = in_set_env(tree, [str(python), "-c", "import ge; print(ge.IS_CANN_GE)"], tmp_path)
    assert "ge._capi.pygeapi_wrapper" in plain.stderr  # CANN's ge, first
    done = in_set_env(tree, [str(python), "-m", "ge_ffi", "run", "seed.py"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"GE_FILE {OUR_GE / '__init__.py'}" in done.stdout
    assert f"GE_LIB {Path(site_dir) / 'ge' / '_capi' / 'libge_runtime_wrapper.so'}" in done.stdout
    assert "result: correct" in done.stdout
