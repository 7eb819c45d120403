"""What every object that owns a native handle refuses."""

from __future__ import annotations

import copy
import pickle
import re

import pytest


def assert_refuses_copies(obj: object, name: str, *, pickled: bool = True) -> None:
    """``copy``/``deepcopy`` raise CANN's ``RuntimeError`` ("<name> does not support
    copy"); with ``pickled``, pickling raises ``TypeError`` too."""
    with pytest.raises(RuntimeError, match=f"^{re.escape(name)} does not support copy$"):
        copy.copy(obj)
    with pytest.raises(RuntimeError, match=f"^{re.escape(name)} does not support deepcopy$"):
        copy.deepcopy(obj)
    if pickled:
        with pytest.raises(TypeError, match="pickle"):
            pickle.dumps(obj)
