"""GE's global lifecycle, at CANN's module path: ``from ge.ge_global import GeApi``.

:class:`GeApi` (CANN's spelling) and this package's functions
``initialize``/``finalize``/``is_initialized``/``initialized`` live in
:mod:`ge.ge_global.geapi`.
"""

from __future__ import annotations

from ge.ge_global.geapi import GeApi, finalize, initialize, initialized, is_initialized

__all__ = ["GeApi", "finalize", "initialize", "initialized", "is_initialized"]
