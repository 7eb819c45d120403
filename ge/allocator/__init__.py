"""Python memory allocators that GE can use for a stream's memory.

As in CANN's own package, ``ge.allocator`` holds :class:`MemBlock` and
:class:`Allocator` (also importable from ``ge.allocator.allocator``). This
package adds :class:`AclAllocator` (device memory from ``aclrtMalloc``) and
:class:`CachingAllocator` (freed blocks kept in size classes and reused).
"""

from __future__ import annotations

from ge.allocator.acl_allocator import AclAllocator
from ge.allocator.allocator import Allocator, MemBlock
from ge.allocator.caching import AllocatorStats, CachingAllocator, size_class

__all__ = [
    "AclAllocator",
    "Allocator",
    "AllocatorStats",
    "CachingAllocator",
    "MemBlock",
    "size_class",
]
