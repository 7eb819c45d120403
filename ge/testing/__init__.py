"""Testing ``ge`` without an NPU: the CPU stand-in library and its controls.

``build_stub_library()`` compiles ``stubs/ge_stub.c`` into a cache
directory; ``use_stub()`` points the package at it; ``stub_control()`` drives
its control symbols (reset, fault injection, live-object counters). The
pytest plugin (``ge.testing.pytest_plugin``) provides the ``ge_stub`` fixture.
"""

from __future__ import annotations

from ge.testing.build import StubBuildError, build_stub_library, stub_source_dir
from ge.testing.control import (
    GraphTensorDesc,
    StubControl,
    activate_stub,
    stub_control,
    use_stub,
)

__all__ = [
    "GraphTensorDesc",
    "StubBuildError",
    "StubControl",
    "activate_stub",
    "build_stub_library",
    "stub_control",
    "stub_source_dir",
    "use_stub",
]
