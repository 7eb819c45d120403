"""The documentation site: it builds with warnings as errors, its API reference
covers every public module of ``ge`` and every name in their ``__all__``, and
every Python block of its pages runs on the stand-in.

The site is built once per module into a temporary directory with
``mkdocs build --strict``; the reference is checked through the objects
inventory mkdocstrings writes (``objects.inv``: every documented object under
each path it can be imported from). Building needs the ``docs`` extra (Python
3.11 or later): without it those tests are skipped, unless
``GE_FFI_DOCS_REQUIRED=1`` (CI's docs stage) makes that a failure.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import re
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import ge

# the checkout (or unpacked sdist): the nearest directory up with pyproject.toml,
# wherever this file sits under tests/
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
DOCS = ROOT / "docs"
CONFIG = ROOT / "mkdocs.yml"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "reference" not in p.parts)
FILE_MARK = "# file: "  # a block that is a test file, run with pytest


def public_modules() -> list[str]:
    """``ge`` and every module under it with no ``_``-prefixed part in its name."""
    names = ["ge"]
    for info in pkgutil.walk_packages(ge.__path__, "ge."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return names


# -- the build and the reference ---------------------------------------------------


def read_inventory(path: Path) -> dict[str, set[str]]:
    """``{name: {role, ...}}`` of a Sphinx inventory (version 2), as mkdocstrings writes it."""
    header, _, body = path.read_bytes().partition(b"zlib.\n")
    assert header.startswith(b"# Sphinx inventory version 2"), header[:40]
    entries: dict[str, set[str]] = {}
    for line in zlib.decompress(body).decode("utf-8").splitlines():
        name, role, _rest = line.split(" ", 2)
        entries.setdefault(name, set()).add(role)
    return entries


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The site, built with ``--strict`` (any warning fails the build)."""
    if not all(importlib.util.find_spec(tool) for tool in ("mkdocs", "mkdocstrings")):
        if os.environ.get("GE_FFI_DOCS_REQUIRED") == "1":
            pytest.fail("the docs extra is not installed (pip install -e '.[docs]')")
        pytest.skip("needs the docs extra (pip install -e '.[docs]', Python >= 3.11)")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(CONFIG), "-d", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    yield out


def test_the_build_is_strict(site: Path) -> None:
    assert re.search(r"^strict: true$", CONFIG.read_text(encoding="utf-8"), re.MULTILINE)
    assert (site / "index.html").is_file() and (site / "objects.inv").is_file()


def test_the_reference_covers_every_public_module_and_name(site: Path) -> None:
    inventory = read_inventory(site / "objects.inv")
    missing = []
    for module_name in public_modules():
        if "py:module" not in inventory.get(module_name, set()):
            missing.append(f"module {module_name} (add ::: {module_name} to docs/reference/)")
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            if f"{module_name}.{name}" not in inventory:
                missing.append(f"{module_name}.{name} (render it on a page of docs/reference/)")
    assert not missing, "not in the API reference:\n" + "\n".join(missing)


def test_the_modules_the_brief_names_are_public() -> None:
    names = set(public_modules())
    for expected in (
        "ge.session.session",
        "ge.ge_global.geapi",
        "ge.graph.tensor",
        "ge.es.graph_builder",
        "ge.allocator.allocator",
        "ge.acl",
        "ge.error",
        "ge.testing",
    ):
        assert expected in names


# -- the pages -------------------------------------------------------------------


def python_blocks() -> list[tuple[str, int, str]]:
    """``(page, index, code)`` of every fenced ```python block of the guides and pages."""
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        found = re.findall(r"^```python\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)
        blocks.extend((str(page.relative_to(DOCS)), i, code) for i, code in enumerate(found))
    return blocks


BLOCKS = python_blocks()


def without_cann() -> dict[str, str]:
    """A machine where neither CANN nor the stand-in is set up (as in test_examples.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GE_FFI", "ASCEND"))}
    env["LD_LIBRARY_PATH"] = ""
    return env


def test_the_guides_have_python_blocks() -> None:
    pages = {page for page, _, _ in BLOCKS}
    for guide in ("getting-started", "porting", "allocators-and-streams", "testing"):
        assert f"guides/{guide}.md" in pages


@pytest.mark.parametrize(
    ("page", "index", "code"), BLOCKS, ids=[f"{page}-{index}" for page, index, _ in BLOCKS]
)
def test_a_python_block_of_the_docs_runs(
    page: str, index: int, code: str, tmp_path: Path, ge_stub_library: str
) -> None:
    first = code.splitlines()[0]
    if first.startswith(FILE_MARK):  # a test file: run it with the opt-in plugin
        test_file = tmp_path / first[len(FILE_MARK) :].strip()
        test_file.write_text(code, encoding="utf-8")
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        argv += ["-p", "ge.testing.pytest_plugin", str(test_file)]
    else:
        argv = [sys.executable, "-c", code]
    done = subprocess.run(
        argv, cwd=tmp_path, env=without_cann(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{page} block {index}:\n{code}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr


def test_the_readme_points_to_no_file_outside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for outside in ("../shared", "ABI.md", "UPSTREAM_API", "STYLE.md"):
        assert outside not in readme, outside
    assert "https://github.com/ge-ffi/ge-ffi/blob/main/docs/abi.md" in readme
