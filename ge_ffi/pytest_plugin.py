"""The ``ge_stub`` fixtures, usable where another ``ge`` comes first on ``sys.path``.

Opt-in, as :mod:`ge.testing.pytest_plugin` (which it re-exports): ``pytest -p
ge_ffi.pytest_plugin``, or in your top-level ``conftest.py``::

    pytest_plugins = ["ge_ffi.pytest_plugin"]

Loading it first makes ``import ge`` get ge-ffi's package
(:func:`ge_ffi.use_our_ge`) for the whole test session, without changing
``sys.path``: on an Atlas host, where CANN's ``set_env.sh`` puts CANN's own
``ge`` first on ``PYTHONPATH``, the tests and the fixtures use this package,
and ``te``/``tbe`` stay importable. Without the plugin, pytest is not affected.
"""

from __future__ import annotations

from ge_ffi import use_our_ge

use_our_ge()

from ge.testing.pytest_plugin import ge_stub, ge_stub_library  # noqa: E402

__all__ = ["ge_stub", "ge_stub_library"]
