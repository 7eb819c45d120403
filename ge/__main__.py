"""``python -m ge``: the command line, which lives in :mod:`ge_ffi.cli` (outside
``ge``, so that it works where CANN's own ``ge`` comes first on ``sys.path``; then
``python -m ge`` gets CANN's package, and ``ge-ffi`` or ``python -m ge_ffi`` is the
way in)."""

from __future__ import annotations

import sys

from ge_ffi.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
