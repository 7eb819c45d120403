"""Testing ``ge`` without an NPU: the CPU stand-in library and its controls.

``select_backend()`` points ``ge`` at CANN where its libraries are usable,
else at the stand-in (what ``python -m ge demo`` and the examples call first).
``build_stub_library()`` compiles the sources of ``stubs/`` into one library
in a cache directory; ``use_stub()`` points the package at it;
``stub_control()`` drives its control symbols (reset, fault injection, strict
mode, live-object counters). ``build_cann_layout()`` builds the same sources
as CANN's separate libraries in a fake CANN install tree. The pytest plugin
``ge.testing.pytest_plugin`` (opt-in: ``pytest -p ge.testing.pytest_plugin``)
provides the ``ge_stub`` fixture.
"""

from __future__ import annotations

from ge.testing.backend import Backend, select_backend
from ge.testing.build import (
    StubBuildError,
    SymbolTable,
    build_cann_layout,
    build_stub_library,
    read_symbol_table,
    stub_source_dir,
)
from ge.testing.control import (
    GraphTensorDesc,
    StubControl,
    activate_stub,
    stub_control,
    use_stub,
)

__all__ = [
    "Backend",
    "GraphTensorDesc",
    "StubBuildError",
    "StubControl",
    "SymbolTable",
    "activate_stub",
    "build_cann_layout",
    "build_stub_library",
    "read_symbol_table",
    "select_backend",
    "stub_control",
    "stub_source_dir",
    "use_stub",
]
