"""An empty ``std::map<ge::AscendString, ge::AscendString>``, built in Python.

``ge::Session::LoadGraph`` (and the extern "C" ``GeSessionLoadGraph``) take
their options as a ``const std::map<...> &``. ctypes cannot make a C++
object, but an **empty** map of libstdc++ (the standard library CANN is built
with, on LP64 Linux: x86_64 and aarch64) is plain data: a red-black tree
header whose leftmost and rightmost links point to the header itself, no
root, a node count of 0. Only that is built here; a map with entries would
need nodes allocated by libstdc++'s allocator, which the library would later
free. ``tests/stub/test_cxx.py`` compiles a C++ probe with g++ and checks this
layout (size, offsets and bytes) against what libstdc++ really builds.
"""

from __future__ import annotations

import ctypes


class RbTreeHeader(ctypes.Structure):
    """libstdc++'s ``_Rb_tree_node_base`` used as the tree's header node."""

    _fields_ = (
        ("color", ctypes.c_int),
        ("parent", ctypes.c_void_p),
        ("left", ctypes.c_void_p),
        ("right", ctypes.c_void_p),
    )


class StdMap(ctypes.Structure):
    """libstdc++'s ``std::map`` (``_Rb_tree_impl``): comparator, header, node count."""

    _fields_ = (
        ("compare", ctypes.c_ubyte * 8),  # the empty std::less, padded to the header
        ("header", RbTreeHeader),
        ("node_count", ctypes.c_size_t),
    )


def empty_std_map() -> StdMap:
    """A new empty map: keep the object alive (and in place) while C uses it."""
    tree = StdMap()
    header = ctypes.addressof(tree) + StdMap.header.offset
    tree.header.left = header
    tree.header.right = header
    return tree


__all__ = ["RbTreeHeader", "StdMap", "empty_std_map"]
