"""Reliability: arbitrary Python objects into every public call.

``scripts/bad_input.py`` runs in a child process (a crash is a signal, seen
here as a failure, with the target that was running when it happened): for
each public function and method, hypothesis feeds arbitrary objects (None,
floats, huge and negative ints, strings, bytes, nested lists, numpy scalars
and arrays, objects whose ``__int__``/``__index__``/``__len__``/``__iter__``/
``__hash__``/``__fspath__`` raise, closed and live native objects of every
kind) and only ``TypeError``, ``ValueError`` or ``GeError`` may come out
(``MemoryError`` too where the call allocates what it is asked for).

Examples per target: 5 x the hypothesis profile's ``max_examples`` (at most 2000).
Then, in this process: regressions for the defects this search found and
that were fixed, and strict-xfail repros for those reported to other owners.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import settings

import ge
import ge.acl
from ge.allocator import AclAllocator, CachingAllocator, size_class
from ge.testing import StubControl

SCRIPT = Path(__file__).parent / "scripts" / "bad_input.py"
KNOWN = {
    "types.py:coerce_enum": "ge/graph/types.py",
    "tensor.py:__array__": "ge/graph/tensor.py",
    "graph.py:_encode_path": "ge/graph/graph.py",
    "tensor.py:_read_file": "ge/graph/tensor.py",
    "acl.py:_fspath_bytes": "ge/acl.py",
}


def test_arbitrary_objects_into_every_public_call(ge_stub_library: str, tmp_path: Path) -> None:
    examples = min(5 * settings().max_examples, 2000)
    try:
        done = subprocess.run(
            [sys.executable, str(SCRIPT), str(examples), str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the bad-input child did not finish in 600s")
    progress = (
        (tmp_path / "progress.txt").read_text().splitlines()
        if (tmp_path / "progress.txt").exists()
        else []
    )
    where = progress[-1] if progress else "(setup)"
    assert done.returncode >= 0, f"crashed (signal {-done.returncode}) in {where}:\n{done.stderr}"
    assert done.returncode == 0, f"failed in {where}:\n{done.stdout}\n{done.stderr}"
    assert done.stderr == ""
    result = json.loads(done.stdout.strip().splitlines()[-1])
    failing = {name: detail for name, detail in result["targets"].items() if detail != "ok"}
    assert not failing, "\n\n".join(f"== {name}\n{detail}" for name, detail in failing.items())
    assert set(result["known"]) <= set(KNOWN), result["known"]
    print(
        f"\nRELIABILITY bad input: {len(result['targets'])} public calls, "
        f"{result['calls']} calls with arbitrary arguments; known defects hit: {result['known']}"
    )


# -- objects that fight back ------------------------------------------------------------------


class Evil(Exception):
    pass


class BadMapping(dict):  # type: ignore[type-arg]
    """A mapping that cannot be read."""

    def items(self) -> Any:
        raise Evil("items")


class HashRaises:
    def __hash__(self) -> int:
        raise Evil("__hash__")


class IndexRaises:
    def __index__(self) -> int:
        raise Evil("__index__")


class LenRaises:
    def __len__(self) -> int:
        raise Evil("__len__")


class BadPath(os.PathLike):  # type: ignore[type-arg]
    def __fspath__(self) -> str:
        raise Evil("__fspath__")


# -- defects found and fixed (each test failed before the fix) -----------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: ge.initialize(BadMapping()),
        lambda: ge.GeApi().ge_initialize(BadMapping()),
        lambda: ge.Session(BadMapping()),
    ],
    ids=["initialize", "GeApi.ge_initialize", "Session"],
)
def test_an_options_mapping_that_cannot_be_read_is_a_type_error(
    ge_stub: StubControl, call: Callable[[], Any]
) -> None:
    with pytest.raises(TypeError, match="dictionary") as info:
        call()
    assert isinstance(info.value.__cause__, Evil)  # the user's own error, kept
    assert ge_stub.live_counts()["sessions"] == 0


def test_graph_options_are_read_once(ge_ready: StubControl, make_graph: Any) -> None:
    """A mapping that changes while it is read: checked and used as one snapshot."""

    class Shifty(dict):  # type: ignore[type-arg]
        reads = 0

        def items(self) -> Any:
            Shifty.reads += 1
            return {"k": "v"}.items() if Shifty.reads == 1 else {"k": 1}.items()

    with ge.Session() as session, make_graph() as graph:
        session.add_graph(1, graph, Shifty())
        assert Shifty.reads == 1


def test_has_session_needs_an_integer(ge_ready: StubControl) -> None:
    with pytest.raises(TypeError, match="session_id must be an integer"):
        ge.has_session(HashRaises())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ge.has_session("1")  # type: ignore[arg-type]
    with ge.Session() as session:
        assert ge.has_session(np.int64(session.session_id))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        pytest.param(lambda: AclAllocator().malloc(None), TypeError, id="malloc(None)"),
        pytest.param(lambda: AclAllocator().malloc(2**64), ValueError, id="malloc(2**64)"),
        pytest.param(lambda: AclAllocator().malloc(-1), ValueError, id="malloc(-1)"),
        pytest.param(lambda: AclAllocator().free(None), TypeError, id="free(None)"),
        pytest.param(lambda: AclAllocator(2**40), ValueError, id="AclAllocator(2**40)"),
        pytest.param(
            lambda: CachingAllocator(AclAllocator()).malloc(1048577.0),
            TypeError,
            id="caching.malloc(float)",
        ),
        pytest.param(
            lambda: CachingAllocator(AclAllocator()).malloc(np.float64(3)),
            TypeError,
            id="caching.malloc(np.float64)",
        ),
        pytest.param(lambda: size_class("1"), TypeError, id="size_class(str)"),
    ],
)
def test_allocator_arguments_are_checked(
    acl_ready: StubControl, call: Callable[[], Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        call()


def test_allocators_take_numpy_integer_sizes(acl_ready: StubControl) -> None:
    cache = CachingAllocator(AclAllocator())
    block = cache.malloc(np.uint16(100))  # type: ignore[arg-type]
    assert block.size == 512
    cache.free(block)
    cache.empty_cache()


# -- reported to the owners of ge/graph (strict xfail: remove when fixed) --------------------


@pytest.mark.parametrize(
    "case", ["Tensor(data_type)", "Tensor.from_numpy(format)", "GraphBuilder.input(format)"]
)
def test_enum_arguments_whose_index_raises(ge_stub: StubControl, case: str) -> None:
    builder = ge.GraphBuilder("b")
    calls: dict[str, Callable[[], Any]] = {
        "Tensor(data_type)": lambda: ge.Tensor(data_type=IndexRaises()),  # type: ignore[arg-type]
        "Tensor.from_numpy(format)": lambda: ge.Tensor.from_numpy(
            np.zeros(2, np.float32),
            IndexRaises(),  # type: ignore[arg-type]
        ),
        "GraphBuilder.input(format)": lambda: builder.input(
            0,
            ge.DataType.DT_FLOAT,
            (2,),
            IndexRaises(),  # type: ignore[arg-type]
        ),
    }
    try:
        with pytest.raises((TypeError, ValueError)):
            calls[case]()
    finally:
        builder.close()


def test_array_dtype_that_cannot_be_read(ge_stub: StubControl) -> None:
    with (
        ge.Tensor.from_numpy(np.ones(2, np.float32)) as tensor,
        pytest.raises((TypeError, ValueError)),
    ):
        tensor.__array__({"": LenRaises()})


@pytest.mark.parametrize("case", ["Graph.save", "Graph.load", "Tensor(file_path)", "acl.init"])
def test_path_whose_fspath_raises(acl_ready: StubControl, case: str) -> None:
    with ge.Graph("g") as graph:
        calls: dict[str, Callable[[], Any]] = {
            "Graph.save": lambda: graph.save(BadPath()),
            "Graph.load": lambda: ge.Graph.load(BadPath()),
            "Tensor(file_path)": lambda: ge.Tensor(file_path=BadPath()),
            "acl.init": lambda: ge.acl.init(BadPath()),
        }
        with pytest.raises((TypeError, ValueError, OSError)):
            calls[case]()
