"""CFUNCTYPE types of the four external-allocator callbacks GE calls."""

from __future__ import annotations

import ctypes

MallocFn = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
"""``void *(*)(void *obj, size_t size)``: a new block handle, NULL on failure."""

FreeFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
"""``void (*)(void *obj, void *block)``: release a block handle."""

GetAddrFn = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
"""``void *(*)(void *block)``: the device address of a block."""

OnDestroyFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
"""``void (*)(void *user_handle)``: GE dropped the allocator; called once."""
