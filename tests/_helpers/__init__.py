"""Helpers shared by the tests of every tier, in one place (``tests/README.md``).

``graphs``: graphs built with the package; ``stub_calls``: bare ctypes calls into
the stand-in; ``processes``: child Python processes and their environments;
``arrays``: numpy arrays as ACL's copies see them; ``settings``: hypothesis
settings. The fixtures are in ``tests/conftest.py``.
"""
