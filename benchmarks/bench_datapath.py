"""3. The data path: ``Tensor.from_numpy`` and ``Tensor.numpy()`` against ``numpy.copy``.

Each size is a C-contiguous float32 array ``a`` of random values, and ``t``
a host tensor made from it. Per call:

* ``from_numpy``: wrapper ``Tensor.from_numpy(a).close()`` (GE copies the
  bytes into a new tensor, which is then freed); baseline ``numpy.copy(a)``
  (allocate, copy, free when dropped).
* ``numpy()``: wrapper ``t.numpy()`` (a new array, one copy out of GE);
  baseline ``numpy.copy`` of the same bytes, read where the wrapper reads
  them: a zero-copy numpy view of the tensor's data (``GetData``). Copying
  ``a`` itself is shown too: numpy's large arrays sit on huge pages and the
  stand-in's buffers do not, which makes reading the latter up to ~12%
  slower whoever reads them.
* floors (informational): the same C work through bare ctypes calls with
  pre-built arguments: ``EsCreateEsCTensor`` + ``DestroyEsCTensor``, and
  ``numpy.empty`` + ``GetData`` + ``GetSize`` + ``ctypes.memmove``.
* ``numpy()`` text fallback: with GE's raw-bytes symbols hidden
  (``ge._ffi.hidden_symbols``) the data comes through GE's bracketed
  text; timed with the fast path and the copy in one run.

The ratio is the wrapper's share of ``numpy.copy``'s bandwidth on the same
bytes (baseline time / wrapper time).
"""

from __future__ import annotations

import ctypes
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

import numpy as np

import ge
from benchmarks._env import ge_ready
from benchmarks._report import BANDWIDTH, Row
from benchmarks._timing import Case, Op, Plan, interleaved
from ge._ffi import api, has, hidden_symbols
from ge.graph.tensor import RAW_GET_DATA, RAW_GET_SIZE, LossyTextWarning

FAMILY = "datapath"
KIB = 1024
MIB = 1024 * KIB
FULL_SIZES = (KIB, 16 * KIB, 256 * KIB, MIB, 4 * MIB, 16 * MIB, 64 * MIB, 256 * MIB)
QUICK_SIZES = (KIB, 64 * KIB, MIB, 16 * MIB)
TEXT_FULL_SIZES = (KIB, 16 * KIB, 256 * KIB, MIB)
TEXT_QUICK_SIZES = (KIB, 16 * KIB)
TARGET_FROM = MIB
BANDWIDTH_TARGET = 0.9
"""from_numpy and numpy() at >= 1 MiB: at least 0.9x numpy.copy's bandwidth (issue 13)."""

NOTES = [
    "datapath: float32 arrays a of random values, C-contiguous; t = Tensor.from_numpy(a). "
    "ratio = baseline time / wrapper time = the wrapper's fraction of numpy.copy's bandwidth "
    "on the same bytes. from_numpy: Tensor.from_numpy(a).close() vs numpy.copy(a). "
    "numpy(): t.numpy() vs numpy.copy of a zero-copy view of t's data (the bytes it reads); "
    "'vs numpy.copy(a)' rows compare with copying a itself (numpy's huge-page memory).",
    "datapath (floors): bare ctypes EsCreateEsCTensor + DestroyEsCTensor with a pre-built "
    "pointer and dims, vs numpy.copy(a); numpy.empty + GetData + GetSize + ctypes.memmove, "
    "vs numpy.copy of t's data.",
    "datapath (text): numpy() with _ZNK2ge6Tensor7GetDataEv/GetSizeEv hidden, so the bytes "
    "come through GE's bracketed text; timed in the same rounds as the fast path, "
    "whose caches are then cold after each text call (a conservative speed-up).",
]


def size_label(nbytes: int) -> str:
    """``1 KiB``, ``256 MiB``..."""
    if nbytes >= MIB:
        return f"{nbytes // MIB} MiB"
    return f"{nbytes // KIB} KiB"


def _plan(nbytes: int, quick: bool) -> Plan:
    """Fewer rounds and one call per batch for the big sizes."""
    if nbytes >= 64 * MIB:
        return Plan(rounds=5 if quick else 15, warmup=1, fixed_inner=1)
    if nbytes >= 4 * MIB:
        return Plan(rounds=11 if quick else 31, warmup=2, batch_ns=20_000_000)
    return Plan(rounds=21 if quick else 61, warmup=20, batch_ns=5_000_000)


def _array(nbytes: int) -> np.ndarray:
    rng = np.random.default_rng(nbytes)
    return rng.standard_normal(nbytes // 4, dtype=np.float32)


def _from_numpy(array: np.ndarray) -> Callable[[], None]:
    def wrapper() -> None:
        ge.Tensor.from_numpy(array).close()

    return wrapper


def _copy(array: np.ndarray) -> Callable[[], object]:
    def baseline() -> object:
        return np.copy(array)

    return baseline


def _floor_create(array: np.ndarray) -> Op:
    """``EsCreateEsCTensor`` + ``DestroyEsCTensor`` with pre-built arguments."""
    create = api.EsCreateEsCTensor
    destroy = api.GeApiWrapper_Tensor_DestroyEsCTensor
    data = array.ctypes.data
    dims = (ctypes.c_int64 * 1)(array.size)

    def floor() -> None:
        destroy(create(data, dims, 1, 0, 2))  # DT_FLOAT, FORMAT_ND

    return floor


def _floor_read(tensor: ge.Tensor, array: np.ndarray) -> Op:
    """A new array and one ``memmove`` from GE's raw bytes."""
    get_size = api._ZNK2ge6Tensor7GetSizeEv
    get_data = api._ZNK2ge6Tensor7GetDataEv
    handle = tensor.handle
    shape, dtype = array.shape, array.dtype
    c_char, addressof, memmove, empty = ctypes.c_char, ctypes.addressof, ctypes.memmove, np.empty

    def floor() -> np.ndarray:
        out = empty(shape, dtype)
        memmove(addressof(c_char.from_buffer(out)), get_data(handle), get_size(handle))
        return out

    return floor


def _view_of(tensor: ge.Tensor, array: np.ndarray) -> np.ndarray:
    """A numpy view (no copy) of the tensor's data, shaped like ``array``."""
    address = api._ZNK2ge6Tensor7GetDataEv(tensor.handle)
    raw = (ctypes.c_char * array.nbytes).from_address(address)
    return np.frombuffer(raw, dtype=array.dtype).reshape(array.shape)


def _check(array: np.ndarray, tensor: ge.Tensor, view: np.ndarray) -> None:
    if not (np.array_equal(tensor.numpy(), array) and np.array_equal(view, array)):
        raise RuntimeError("the tensor does not hold the array's values")


def _copies(quick: bool) -> list[Row]:
    """Both directions and their floors, for each size."""
    rows: list[Row] = []
    for nbytes in QUICK_SIZES if quick else FULL_SIZES:
        array = _array(nbytes)
        label = size_label(nbytes)
        target = BANDWIDTH_TARGET if nbytes >= TARGET_FROM else None
        with ge.Tensor.from_numpy(array) as tensor:
            view = _view_of(tensor, array)
            _check(array, tensor, view)
            copy_a, copy_t, from_numpy, to_numpy, floor_create, floor_read = interleaved(
                [
                    Case("numpy.copy(a)", _copy(array)),
                    Case("numpy.copy(view of t's data)", _copy(view)),
                    Case("Tensor.from_numpy(a).close()", _from_numpy(array)),
                    Case("t.numpy()", tensor.numpy),
                    Case("bare EsCreateEsCTensor + Destroy", _floor_create(array)),
                    Case("bare empty + GetData + memmove", _floor_read(tensor, array)),
                ],
                _plan(nbytes, quick),
            )
            del view
        kw = {"metric": BANDWIDTH, "nbytes": nbytes}
        rows += [
            Row.from_timings(
                FAMILY, "Tensor.from_numpy", label, from_numpy, copy_a, target=target, **kw
            ),
            Row.from_timings(
                FAMILY, "floor: bare EsCreateEsCTensor", label, floor_create, copy_a, **kw
            ),
            Row.from_timings(FAMILY, "Tensor.numpy", label, to_numpy, copy_t, target=target, **kw),
            Row.from_timings(
                FAMILY, "floor: bare GetData + memmove", label, floor_read, copy_t, **kw
            ),
            Row.from_timings(
                FAMILY, "Tensor.numpy vs numpy.copy(a)", label, to_numpy, copy_a, **kw
            ),
        ]
    order = [row.benchmark for row in rows[:5]]
    rows.sort(key=lambda r: (order.index(r.benchmark), r.nbytes or 0))
    return rows


@contextmanager
def _raw_bound() -> Iterator[None]:
    """Bind the raw-bytes symbols again (after the text case hid them), untimed."""
    if not (has(RAW_GET_DATA) and has(RAW_GET_SIZE)):
        raise RuntimeError("the library has no raw-bytes GetData/GetSize")
    yield


def _text_fallback(quick: bool) -> list[Row]:
    """numpy() through GE's text against the raw bytes and numpy.copy."""
    rows: list[Row] = []
    for nbytes in TEXT_QUICK_SIZES if quick else TEXT_FULL_SIZES:
        array = _array(nbytes)
        with ge.Tensor.from_numpy(array) as tensor, warnings.catch_warnings():
            warnings.simplefilter("ignore", LossyTextWarning)  # lossy: known, measured anyway
            copy, fast, text = interleaved(
                [
                    Case("numpy.copy(a)", _copy(array)),
                    Case("t.numpy() raw bytes", tensor.numpy, context=_raw_bound),
                    Case(
                        "t.numpy() text fallback",
                        tensor.numpy,
                        context=lambda: hidden_symbols(RAW_GET_DATA, RAW_GET_SIZE),
                    ),
                ],
                Plan(rounds=7 if quick else 15, warmup=3, batch_ns=20_000_000),
            )
        speedup = text.median / fast.median
        rows.append(
            Row.from_timings(
                FAMILY,
                "Tensor.numpy text fallback",
                size_label(nbytes),
                text,
                copy,
                metric=BANDWIDTH,
                nbytes=nbytes,
                extra={"fast_path_ns": fast.median, "fast_path_speedup": speedup},
            )
        )
    return rows


def run(quick: bool) -> list[Row]:
    """Both directions for each size, and the text fallback for the small ones."""
    with ge_ready():
        return _copies(quick) + _text_fallback(quick)
