"""numpy arrays as ACL's copies send and return them."""

from __future__ import annotations

from typing import Any

import numpy as np


def native(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """What ``copy_from`` sends: C-contiguous, native byte order."""
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return np.asarray(array, order="C")


def same_bytes(got: np.ndarray[Any, Any], want: np.ndarray[Any, Any]) -> bool:
    """Equal dtype, shape and bytes (NaNs included)."""
    want = native(want)
    return got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()
