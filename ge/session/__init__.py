"""GE sessions, at CANN's module path: ``from ge.session import Session``.

The class lives in :mod:`ge.session.session`, as in CANN's own package;
``GeError`` is re-exported here as CANN's package does.
"""

from __future__ import annotations

from ge.error import GeError
from ge.session._bound import GraphBinding
from ge.session.session import Session, has_session

__all__ = ["GeError", "GraphBinding", "Session", "has_session"]
