"""``AclAllocator``: device memory straight from ``aclrtMalloc`` / ``aclrtFree``."""

from __future__ import annotations

import ctypes
from typing import Union

from ge._checks import as_size_t
from ge._ffi import api
from ge._ffi.errors import AclError
from ge._ffi.marshal import check_acl
from ge._ffi.status import ACL_ERROR_BAD_ALLOC
from ge.acl._memory import MemMallocPolicy, malloc_policy
from ge.allocator.allocator import Allocator, MemBlock

__all__ = ["AclAllocator"]


class AclAllocator(Allocator):
    """Device memory straight from ``aclrtMalloc`` / ``aclrtFree``.

    ``policy`` is a ``ge.acl.MemMallocPolicy`` (or its ``int``), checked as
    ``ge.acl.DeviceBuffer`` checks it.
    """

    def __init__(self, policy: Union[MemMallocPolicy, int] = MemMallocPolicy.HUGE_FIRST) -> None:
        self.policy = int(malloc_policy(policy))

    def malloc(self, size: int) -> MemBlock:
        """``aclrtMalloc`` of ``size`` bytes."""
        nbytes = as_size_t(size, "size")
        ptr = ctypes.c_void_p()
        context = {"size": nbytes}
        check_acl(api.aclrtMalloc(ctypes.byref(ptr), nbytes, self.policy), "aclrtMalloc", context)
        if not ptr.value:  # success without memory: never hand GE a NULL block
            raise AclError.from_call(
                "aclrtMalloc", ACL_ERROR_BAD_ALLOC, "ACL returned a NULL block", context
            )
        return MemBlock(ptr.value, nbytes)

    def free(self, block: MemBlock) -> None:
        """``aclrtFree`` of the block."""
        if not isinstance(block, MemBlock):
            raise TypeError(f"block must be a MemBlock, not {type(block).__name__}")
        check_acl(api.aclrtFree(block.addr), "aclrtFree")
