"""The command line and the pytest plugin of the ``ge-ffi`` distribution, outside ``ge``.

On an Atlas host, CANN's ``set_env.sh`` puts ``<cann>/python/site-packages``
first on ``PYTHONPATH``. That directory holds CANN's own Python package, also
named ``ge`` (and ``te``/``tbe``, which GE's op compilation needs), so a plain
``import ge`` gets CANN's package, not this distribution's. This package has
another name, so it is always importable; before anything imports ``ge`` it
calls :func:`use_our_ge`, which puts first on ``sys.meta_path`` a finder that
resolves ``ge`` to this distribution's ``ge`` directory (the sibling of this
package's own directory, in a wheel install and in an editable one alike).
``sys.path`` is left as it is: ``te``, ``tbe`` and CANN's ``ge/_capi`` (where
the loader finds CANN's wrapper libraries) stay where ``set_env.sh`` put them.

Nothing here imports ``ge`` at import time.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Optional, Sequence

__all__ = ["GeShadowed", "Shadowing", "our_ge_dir", "shadowing", "use_our_ge"]


def our_ge_dir() -> Path:
    """This distribution's ``ge`` package directory: next to ``ge_ffi`` (the wheel puts
    both in one site-packages; an editable install maps both into the checkout)."""
    return Path(__file__).resolve().parent.parent / "ge"


@dataclass(frozen=True)
class Shadowing:
    """Another ``ge`` that a plain ``import ge`` gets instead of this distribution's."""

    location: str
    """The other package's directory (or module file)."""
    sys_path_entry: str
    """The ``sys.path`` entry it was found under."""
    from_pythonpath: bool
    """Whether that entry comes from ``PYTHONPATH`` (as CANN's ``set_env.sh`` sets it)."""

    @property
    def is_canns(self) -> bool:
        """Whether it looks like CANN's own package (a ``_capi`` directory, a
        ``python/site-packages`` entry)."""
        here = Path(self.location)
        return (here / "_capi").is_dir() or self.sys_path_entry.rstrip(os.sep).endswith(
            os.path.join("python", "site-packages")
        )


def _same(a: str, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve()
    except OSError:
        return False


def shadowing(path: Optional[Sequence[str]] = None) -> Optional[Shadowing]:
    """The ``ge`` a plain ``import ge`` would get through ``sys.path`` (or ``path``)
    when it is not this distribution's, else ``None``. Imports nothing."""
    entries = list(sys.path if path is None else path)
    spec = importlib.machinery.PathFinder.find_spec("ge", entries)
    if spec is None:
        return None
    if spec.submodule_search_locations:
        locations = list(spec.submodule_search_locations)
        location = locations[0] if locations else ""
    else:
        location = spec.origin or ""
    if not location or _same(location, our_ge_dir()):
        return None
    if spec.origin is None:  # a namespace portion: a regular package later wins
        return None
    parent = str(Path(location).parent)
    entry = next((e for e in entries if _same(e or os.getcwd(), Path(parent))), parent)
    pythonpath = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    from_env = any(_same(p, Path(parent)) for p in pythonpath)
    return Shadowing(location, entry, from_env)


class GeShadowed(ImportError):
    """``ge`` was imported from another package before :func:`use_our_ge` could act."""


class _OurGeFinder(importlib.abc.MetaPathFinder):
    """Resolves the top-level ``ge`` to this distribution's directory; its submodules
    follow through ``ge.__path__``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def find_spec(
        self,
        fullname: str,
        path: Optional[Sequence[str]] = None,
        target: Optional[ModuleType] = None,
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != "ge":
            return None
        return importlib.util.spec_from_file_location(
            "ge",
            self.directory / "__init__.py",
            submodule_search_locations=[str(self.directory)],
        )


def use_our_ge() -> Optional[Shadowing]:
    """Make ``import ge`` get this distribution's package; return what it shadows.

    Inserts the finder first on ``sys.meta_path`` (once); ``sys.path`` is not
    changed. Raises :class:`GeShadowed` when another ``ge`` is already imported
    (too late to choose).
    """
    ours = our_ge_dir()
    loaded = sys.modules.get("ge")
    if loaded is not None:
        where = getattr(loaded, "__file__", None) or ""
        if not where or Path(where).resolve().parent != ours.resolve():
            raise GeShadowed(
                f"another package named 'ge' is already imported ({where or loaded!r}); "
                "ge-ffi's 'ge' can only be chosen before the first 'import ge'"
            )
    if not any(isinstance(f, _OurGeFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _OurGeFinder(ours))
    return shadowing()
