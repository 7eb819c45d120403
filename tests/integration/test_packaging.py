"""The distribution: one version, its metadata, its two top-level packages (``ge`` and
``ge_ffi``, the command line and the plugin outside ``ge``), and a pytest plugin that
is opt-in."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ge
import ge_ffi

USES_THE_FIXTURE = textwrap.dedent(
    """
    import sys

    def test_uses_ge_stub(ge_stub):
        assert "ge.testing.pytest_plugin" in sys.modules
        assert isinstance(ge_stub.live_counts(), dict)
    """
)


def test_the_installed_version_is_ge_version() -> None:
    assert importlib.metadata.version("ge-ffi") == ge.__version__


def test_metadata_declares_license_pythons_and_numpy_floor() -> None:
    meta = importlib.metadata.metadata("ge-ffi")
    assert meta["License-Expression"] == "Apache-2.0"
    classifiers = meta.get_all("Classifier") or []
    for minor in range(9, 14):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert meta["Requires-Python"] == ">=3.9"
    # numpy 1.x wraps out-of-range Python ints silently (300 as uint8 is 44)
    assert "numpy>=2.0" in (importlib.metadata.requires("ge-ffi") or [])
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert set(urls) >= {"Homepage", "Documentation", "Issues", "Changelog"}


def test_ge_ffi_is_shipped_beside_ge_and_owns_the_script() -> None:
    dist = importlib.metadata.distribution("ge-ffi")
    assert set((dist.read_text("top_level.txt") or "").split()) == {"ge", "ge_ffi"}
    (script,) = [ep for ep in dist.entry_points if ep.group == "console_scripts"]
    assert (script.name, script.value) == ("ge-ffi", "ge_ffi.cli:main")
    # wheel or editable install alike, ge_ffi finds this distribution's ge beside it
    assert ge_ffi.our_ge_dir() == Path(ge.__file__).resolve().parent
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    if not direct.get("dir_info", {}).get("editable", False):  # a wheel: its files
        recorded = {str(f) for f in dist.files or ()}
        for name in ("__init__.py", "__main__.py", "cli.py", "pytest_plugin.py", "py.typed"):
            assert f"ge_ffi/{name}" in recorded, name


def test_no_pytest11_entry_point() -> None:
    eps = importlib.metadata.entry_points()
    group = eps.select(group="pytest11") if hasattr(eps, "select") else eps.get("pytest11", [])
    assert not [ep for ep in group if ep.value.startswith(("ge.", "ge_ffi"))]


def _pytest_in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_a_plain_pytest_run_does_not_load_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text(USES_THE_FIXTURE)
    done = _pytest_in(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "fixture 'ge_stub' not found" in done.stdout


@pytest.mark.parametrize(
    ("how", "plugin"),
    [("-p", "ge.testing.pytest_plugin"), ("conftest", "ge.testing.pytest_plugin"),
     ("-p", "ge_ffi.pytest_plugin")],
)  # fmt: skip
def test_the_plugin_is_turned_on_explicitly(tmp_path: Path, how: str, plugin: str) -> None:
    (tmp_path / "test_mine.py").write_text(USES_THE_FIXTURE)
    if how == "conftest":
        (tmp_path / "conftest.py").write_text(f"pytest_plugins = [{plugin!r}]\n")
        done = _pytest_in(tmp_path)
    else:
        done = _pytest_in(tmp_path, "-p", plugin)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
