"""Properties: the stand-in's Add/Sub/Mul/Div agree with numpy for random broadcastable
shapes, data types (promoted as GE does) and operands (inputs, Consts, numbers, lists).

The promotion expected here is written out from GE's table (opcommon::PromoteType,
metadef inc/external/op_common/data_type_utils.h), independently of the stand-in's
rule-based code.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, Callable

import numpy as np
import pytest
from _helpers.graphs import run_once
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ge
from ge._ffi import status as S
from ge.error import GeError
from ge.es import GraphBuilder, TensorHolder
from ge.graph.dtypes import from_numpy_dtype

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

# GE's promotion table, the rows of the types drawn here (column order as ORDER)
ORDER = ["f4", "f2", "i1", "i4", "u1", "i2", "i8", "f8", "b1", "c4", "c8"]
ROWS = {
    "f4": "f4 f4 f4 f4 f4 f4 f4 f8 f4 c4 c8",
    "f2": "f4 f2 f2 f2 f2 f2 f2 f8 f2 c4 c8",
    "i1": "f4 f2 i1 i4 i2 i2 i8 f8 i1 c4 c8",
    "i4": "f4 f2 i4 i4 i4 i4 i8 f8 i4 c4 c8",
    "u1": "f4 f2 i2 i4 u1 i2 i8 f8 u1 c4 c8",
    "i2": "f4 f2 i2 i4 i2 i2 i8 f8 i2 c4 c8",
    "i8": "f4 f2 i8 i8 i8 i8 i8 f8 i8 c4 c8",
    "f8": "f8 f8 f8 f8 f8 f8 f8 f8 f8 c8 c8",
    "b1": "f4 f2 i1 i4 u1 i2 i8 f8 b1 c4 c8",
    "c4": "c4 c4 c4 c4 c4 c4 c4 c8 c4 c4 c8",
    "c8": "c8 c8 c8 c8 c8 c8 c8 c8 c8 c8 c8",
}
NUMPY = {
    "f4": np.float32,
    "f2": np.float16,
    "i1": np.int8,
    "i4": np.int32,
    "u1": np.uint8,
    "i2": np.int16,
    "i8": np.int64,
    "f8": np.float64,
    "b1": np.bool_,
    "c4": np.complex64,
    "c8": np.complex128,
}
PROMOTE = {(a, b): row.split()[j] for a, row in ROWS.items() for j, b in enumerate(ORDER)}
# the ops' IR (GE's elewise_calculation_ops.h): which of these types each takes
ACCEPTS = {"add": set(ORDER), "sub": set(ORDER), "mul": set(ORDER), "div": set(ORDER) - {"b1"}}


def test_the_table_is_symmetric_for_these_types() -> None:
    for a, b in itertools.product(ORDER, ORDER):
        assert PROMOTE[a, b] == PROMOTE[b, a]


def _trunc_div(x: Any, y: Any, kind: type) -> Any:
    info = np.iinfo(kind)
    out = []
    for p, q in zip(np.ravel(x).tolist(), np.ravel(y).tolist()):
        if q == 0:
            out.append(0)
        elif p == info.min and q == -1:
            out.append(info.min)
        else:
            r = abs(p) // abs(q)
            out.append(r if (p < 0) == (q < 0) else -r)
    return np.array(out, kind).reshape(np.shape(x))


def expected(op: str, a: Any, b: Any, code: str) -> Any:
    """numpy's answer in GE's promoted type: the operands cast first."""
    kind = NUMPY[code]
    x, y = np.broadcast_arrays(np.asarray(a).astype(kind), np.asarray(b).astype(kind))
    if code == "b1":
        return {"add": np.logical_or, "sub": np.logical_xor, "mul": np.logical_and}[op](x, y)
    if np.dtype(kind).kind in "iu":
        if op == "div":
            return _trunc_div(x, y, kind)
        with np.errstate(over="ignore"):
            return {"add": np.add, "sub": np.subtract, "mul": np.multiply}[op](x, y)
    with np.errstate(all="ignore"):
        return {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[op](x, y)


def _values(code: str, partner: str) -> st.SearchStrategy[Any]:
    """Elements of ``code`` that convert exactly to the promoted type (ints into floats)."""
    kind = np.dtype(NUMPY[code])
    target = PROMOTE[code, partner]
    if kind.kind in "iu":
        info = np.iinfo(kind)
        bound = {"f2": 2048, "f4": 2**24, "c4": 2**24}.get(target)
        low, high = int(info.min), int(info.max)
        if bound is not None:
            low, high = max(low, -bound), min(high, bound)
        return st.integers(low, high)
    if kind.kind == "b":
        return st.booleans()
    if kind.kind == "c":
        part = st.integers(-8, 8).map(float)
        return st.builds(complex, part, part)
    width = 16 if kind == np.float16 else 32 if kind == np.float32 else 64
    return st.floats(width=width, allow_nan=True, allow_infinity=True)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, str, Any, Any, tuple[bool, bool]]:
    op = draw(st.sampled_from(sorted(ACCEPTS)))
    left, right = draw(st.sampled_from(ORDER)), draw(st.sampled_from(ORDER))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    a = draw(hnp.arrays(NUMPY[left], shapes.input_shapes[0], elements=_values(left, right)))
    b = draw(hnp.arrays(NUMPY[right], shapes.input_shapes[1], elements=_values(right, left)))
    unknown = (draw(st.booleans()), draw(st.booleans()))  # declare -1 dims
    return op, left, right, a, b, unknown


@pytest.fixture
def session(ge_ready: Any) -> Iterator[ge.Session]:
    with ge.Session() as s:
        yield s


def _run(
    session: ge.Session, make: Callable[[GraphBuilder], list[TensorHolder]], *arrays: Any
) -> list[Any]:
    with GraphBuilder("prop") as builder, builder.build_and_reset(make(builder)) as graph:
        return run_once(session, graph, *(np.array(a, order="C") for a in arrays))


def _check(got: Any, want: Any) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, (got, want)
    if want.dtype.kind == "c":
        np.testing.assert_allclose(got, want, rtol=1e-5, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


@fixture_ok
@given(case=cases())
def test_ops_agree_with_numpy(session: ge.Session, case: Any) -> None:
    op, left, right, a, b, unknown = case

    def make(builder: GraphBuilder) -> list[TensorHolder]:
        x, y = (
            builder.create_input(
                i,
                data_type=from_numpy_dtype(arr.dtype),
                shape=[-1 if u else d for d in arr.shape],
            )
            for i, (arr, u) in enumerate(((a, unknown[0]), (b, unknown[1])))
        )
        return [getattr(x, op)(y)]

    target = PROMOTE[left, right]
    if left not in ACCEPTS[op] or right not in ACCEPTS[op] or target not in ACCEPTS[op]:
        with pytest.raises(GeError) as info:
            _run(session, make, a, b)
        assert info.value.status == S.FAILED
        return
    (got,) = _run(session, make, a, b)
    _check(got, expected(op, a, b, target))


@pytest.mark.parametrize("code", ["c4", "c8"])
def test_complex_division_by_signed_zeros_agrees_with_numpy(session: ge.Session, code: str) -> None:
    """Smith's division divides by |b| when b is zero: |-0.0| is +0.0, so
    (1+1j) / -0.0 is (+inf, +inf) as numpy gives it (the stand-in once gave -inf)."""
    kind = NUMPY[code]
    a = np.array([1 + 1j, -1 + 1j, 1 - 1j, 0j], kind)
    b = np.array([complex(-0.0, 0.0), complex(-0.0, -0.0), complex(0.0, -0.0), -0.0], kind)

    def make(builder: GraphBuilder) -> list[TensorHolder]:
        x, y = (
            builder.create_input(i, data_type=from_numpy_dtype(kind), shape=[4]) for i in (0, 1)
        )
        return [x / y]

    (got,) = _run(session, make, a, b)
    _check(got, expected("div", a, b, code))


@fixture_ok
@given(
    op=st.sampled_from(sorted(ACCEPTS)),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
    data=st.data(),
)
def test_consts_numbers_and_lists_agree_with_numpy(
    session: ge.Session, op: str, shapes: Any, data: st.DataObject
) -> None:
    """Consts (int64, int32, float), numbers and nested lists as operands."""
    kinds = {"int64": ("i8", np.int64), "int32": ("i4", np.int32), "float": ("f4", np.float32)}
    left_kind = data.draw(st.sampled_from(sorted(kinds)), "input type")
    right_kind = data.draw(st.sampled_from([*sorted(kinds), "number", "list"]), "operand")
    code, kind = kinds[left_kind]
    a = data.draw(hnp.arrays(kind, shapes.input_shapes[0], elements=_values(code, "f4")), "a")
    if right_kind in kinds:
        rcode, rkind = kinds[right_kind]
        b = data.draw(hnp.arrays(rkind, shapes.input_shapes[1], elements=_values(rcode, code)), "b")
    elif right_kind == "number":
        rcode = data.draw(st.sampled_from(["i8", "f4"]), "number type")
        number = data.draw(_values(rcode, code), "number")
        b = np.array(number, NUMPY[rcode])
    else:
        rcode = data.draw(st.sampled_from(["i8", "f4"]), "list type")
        b = data.draw(
            hnp.arrays(NUMPY[rcode], shapes.input_shapes[1] or (1,), elements=_values(rcode, code)),
            "b",
        )
    reflected = data.draw(st.booleans(), "reflected")

    def make(builder: GraphBuilder) -> list[TensorHolder]:
        x = builder.create_input(0, data_type=from_numpy_dtype(a.dtype), shape=list(a.shape))
        if right_kind in kinds:
            values = b.ravel().tolist()
            create = getattr(builder, f"create_const_{right_kind}")
            y: Any = create(values, shape=list(b.shape)) if b.ndim else create(values[0])
        elif right_kind == "number":
            y = b.item()
        else:
            y = b.tolist()
        if reflected and not isinstance(y, TensorHolder):
            symbol = {
                "add": "__radd__",
                "sub": "__rsub__",
                "mul": "__rmul__",
                "div": "__rtruediv__",
            }
            return [getattr(x, symbol[op])(y)]
        return [getattr(x, op)(y)]

    target = PROMOTE[code, rcode]
    (got,) = _run(session, make, a)
    if reflected and right_kind in ("number", "list") and op in ("sub", "div"):
        want = expected(op, b, a, PROMOTE[rcode, code])
    elif reflected and right_kind in ("number", "list"):
        want = expected(op, a, b, target)  # __radd__/__rmul__: x + c, as CANN
    else:
        want = expected(op, a, b, target)
    _check(got, want)
