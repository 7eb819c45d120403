"""``AclAllocator``: device memory straight from ``aclrtMalloc`` / ``aclrtFree``."""

from __future__ import annotations

import ctypes

from ge._ffi import api
from ge._ffi.marshal import check_acl
from ge.allocator.allocator import Allocator, MemBlock, check_size

__all__ = ["AclAllocator"]


class AclAllocator(Allocator):
    """Device memory straight from ``aclrtMalloc`` / ``aclrtFree``."""

    def __init__(self, policy: int = 0) -> None:
        if not isinstance(policy, int) or isinstance(policy, bool):
            raise TypeError("policy must be an integer (aclrtMemMallocPolicy)")
        if not -(2**31) <= policy < 2**31:
            raise ValueError(f"policy must fit in a C int (aclrtMemMallocPolicy), got {policy}")
        self.policy = policy

    def malloc(self, size: int) -> MemBlock:
        """``aclrtMalloc`` of ``size`` bytes."""
        nbytes = check_size(size, "size")
        ptr = ctypes.c_void_p()
        check_acl(api.aclrtMalloc(ctypes.byref(ptr), nbytes, self.policy), "aclrtMalloc")
        return MemBlock(ptr.value or 0, nbytes)

    def free(self, block: MemBlock) -> None:
        """``aclrtFree`` of the block."""
        if not isinstance(block, MemBlock):
            raise TypeError(f"block must be a MemBlock, not {type(block).__name__}")
        check_acl(api.aclrtFree(block.addr), "aclrtFree")
