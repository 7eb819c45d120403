"""Testing ``ge`` without an NPU: the CPU stand-in library and its controls.

``select_backend()`` points ``ge`` at CANN where its libraries are usable,
else at the stand-in (what ``python -m ge demo`` and the examples call first).
``build_stub_library()`` compiles ``stubs/ge_stub.c`` into a cache
directory; ``use_stub()`` points the package at it; ``stub_control()`` drives
its control symbols (reset, fault injection, live-object counters). The
pytest plugin ``ge.testing.pytest_plugin`` (opt-in: ``pytest -p
ge.testing.pytest_plugin``) provides the ``ge_stub`` fixture.
"""

from __future__ import annotations

from ge.testing.backend import Backend, select_backend
from ge.testing.build import StubBuildError, build_stub_library, stub_source_dir
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
    "activate_stub",
    "build_stub_library",
    "select_backend",
    "stub_control",
    "stub_source_dir",
    "use_stub",
]
