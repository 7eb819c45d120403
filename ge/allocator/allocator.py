"""The allocator interface GE calls for a stream's memory: ``MemBlock`` and ``Allocator``.

Subclass :class:`Allocator` (``malloc(size) -> MemBlock``, ``free(block)``)
and register it with ``Session.register_external_allocator(stream, alloc)``.
"""

from __future__ import annotations

import abc

from ge._checks import as_size_t

__all__ = ["Allocator", "MemBlock"]


class MemBlock:
    """A block of device memory: its address and size in bytes (read-only)."""

    __slots__ = ("_addr", "_size")

    def __init__(self, addr: int, size: int) -> None:
        self._addr = as_size_t(addr, "addr")
        self._size = as_size_t(size, "size")

    @property
    def addr(self) -> int:
        """The device address."""
        return self._addr

    @property
    def size(self) -> int:
        """The size in bytes."""
        return self._size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MemBlock):
            return NotImplemented
        return (self._addr, self._size) == (other._addr, other._size)

    def __hash__(self) -> int:
        return hash((self._addr, self._size))

    def __repr__(self) -> str:
        return f"MemBlock(addr={self._addr:#x}, size={self._size})"


class Allocator(abc.ABC):
    """A memory allocator GE can call (from any thread) for a stream's outputs."""

    @abc.abstractmethod
    def malloc(self, size: int) -> MemBlock:
        """Return a block of at least ``size`` bytes of device memory."""

    @abc.abstractmethod
    def free(self, block: MemBlock) -> None:
        """Release a block this allocator returned."""
