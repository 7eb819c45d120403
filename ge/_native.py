"""The base of every Python object that owns one native handle.

It frees the handle exactly once (``close()``, the context manager, or the
finalizer), refuses use after close with a clear ``ValueError``, and refuses
``copy``/``deepcopy``/pickling, which would share or lose the handle.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, ClassVar, NoReturn, Optional

from typing_extensions import Self

from ge import _lifecycle

_close_lock = threading.Lock()


class NativeObject:
    """Owns one native handle (an ``int``); subclasses define ``_release``."""

    __slots__ = ("__weakref__", "_handle")

    _kind: ClassVar[str] = "object"
    _closed_word: ClassVar[str] = "closed"

    _handle: Optional[int]

    def __init__(self, handle: int) -> None:
        self._handle = handle

    def _release(self, handle: int) -> None:
        """Free ``handle`` in C; called at most once per object."""
        raise NotImplementedError

    @property
    def handle(self) -> int:
        """The native handle, as an ``int``; ``ValueError`` once closed."""
        handle = self._handle
        if handle is None:
            self._raise_closed()
        return handle

    def _raise_closed(self) -> NoReturn:
        raise ValueError(f"{self._kind} is {self._closed_word}")

    @property
    def closed(self) -> bool:
        """Whether the native handle was released."""
        return self._handle is None

    def _detach(self) -> Optional[int]:
        """Take the handle away from this object (exactly one caller gets it)."""
        with _close_lock:
            handle = self._handle
            self._handle = None
        return handle

    def close(self) -> None:
        """Release the native object; harmless when already closed."""
        handle = self._detach()
        if handle is not None:
            self._release(handle)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _finalize(self, handle: int) -> None:
        """Free ``handle`` from the finalizer; by default the same as ``_release``."""
        self._release(handle)

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is None or _lifecycle.exiting():
            return
        handle = self._detach()
        if handle is None:
            return
        with contextlib.suppress(BaseException):  # nobody to report to here
            self._finalize(handle)

    def __copy__(self) -> NoReturn:
        raise RuntimeError(f"{type(self).__name__} does not support copy")

    def __deepcopy__(self, memo: Any) -> NoReturn:
        raise RuntimeError(f"{type(self).__name__} does not support deepcopy")

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"cannot pickle {type(self).__name__}: it owns a native handle")
