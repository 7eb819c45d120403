"""``python -m benchmarks --cann-python DIR`` against a fake CANN package written here.

The fake is a top-level ``ge`` with the few calls the peer harness makes
(``benchmarks/_peer_child.py``), in plain Python, plus what CANN's real
package does that the harness must survive: binding, at import, a C symbol
the stand-in does not export (a placeholder, never called), and calling real
ones (``CreateTensor`` / ``DestroyEsCTensor``), which the trace must report.
No code of CANN's is needed; numbers are not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from _helpers.processes import ROOT

FAKE = {
    "__init__.py": """
        import ctypes

        _lib = ctypes.CDLL("libgraph_wrapper.so")
        _lib.GeApiWrapper_NotInTheStandIn.restype = ctypes.c_int  # missing: tolerated
        _lib.GeApiWrapper_Tensor_CreateTensor.restype = ctypes.c_void_p
        _lib.GeApiWrapper_Tensor_DestroyEsCTensor.argtypes = (ctypes.c_void_p,)
    """,
    "ge_global/__init__.py": """
        class GeApi:
            @classmethod
            def ge_initialize(cls, config):
                return 0

            @classmethod
            def ge_finalize(cls):
                return 0
    """,
    "graph/__init__.py": """
        from ge import _lib


        class Tensor:
            def __init__(self, data=None, file_path=None, data_type=None, format=None, shape=None):
                self._data = list(data or [])
                self._handle = _lib.GeApiWrapper_Tensor_CreateTensor()

            def __del__(self):
                _lib.GeApiWrapper_Tensor_DestroyEsCTensor(self._handle)

            def get_data(self):
                return list(self._data)
    """,
    "graph/types.py": """
        import enum


        class DataType(enum.IntEnum):
            DT_FLOAT = 0


        class Format(enum.IntEnum):
            FORMAT_ND = 2
    """,
    "es/__init__.py": """
        class _Holder:
            def __init__(self, inputs):
                self.inputs = inputs

            def __add__(self, other):
                return _Holder(self.inputs + other.inputs)


        class GraphBuilder:
            def __init__(self, name=None):
                self.output = None

            def create_input(self, index, *, data_type=None, shape=None, **kw):
                return _Holder([index])

            def set_graph_output(self, holder, index):
                self.output = holder

            def build_and_reset(self):
                return self.output
    """,
    "session/__init__.py": """
        from ge.graph import Tensor


        class Session:
            def __init__(self, options=None):
                self.graphs = {}
                self.allocators = {}

            def add_graph(self, graph_id, graph, options=None):
                self.graphs[graph_id] = graph

            def remove_graph(self, graph_id):
                del self.graphs[graph_id]

            def run_graph(self, graph_id, inputs):
                self.graphs[graph_id]
                total = [sum(v) for v in zip(*(t.get_data() for t in inputs))]
                return [Tensor(total)]

            def run_graph_with_stream_async(self, graph_id, stream, inputs):
                return self.run_graph(graph_id, inputs)

            def register_external_allocator(self, stream, allocator):
                cycle = [allocator]
                cycle.append(cycle)  # left for the cyclic GC, as callbacks over closures are
                self.allocators[stream] = allocator

            def unregister_external_allocator(self, stream):
                del self.allocators[stream]
    """,
    "allocator/__init__.py": """
        import abc


        class MemBlock:
            def __init__(self, addr, size):
                self.addr, self.size = addr, size


        class Allocator(abc.ABC):
            @abc.abstractmethod
            def malloc(self, size): ...

            @abc.abstractmethod
            def free(self, block): ...
    """,
}


def test_peer_mode_runs_against_a_fake_cann_package(ge_stub_library: str, tmp_path: Path) -> None:
    cann = tmp_path / "cann_python"
    for name, text in FAKE.items():
        path = cann / "ge" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "allocator",
         "--cann-python", str(cann), "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    peer = data["environment"]["peer"]
    assert peer["ge_package"] == str(cann / "ge")
    assert peer["missing_symbols"] == ["GeApiWrapper_NotInTheStandIn"]
    assert peer["calls"]["create"] == [
        "GeApiWrapper_Tensor_CreateTensor",
        "GeApiWrapper_Tensor_DestroyEsCTensor",
    ]
    rows = [row for row in data["results"] if row["family"] == "peer"]
    assert len(rows) == 6
    for row in rows:
        assert row["wrapper_ns"] > 0 and row["baseline_ns"] > 0 and row["cpu_ratio"] > 0
    # a side whose calls leave reference cycles is seen (and charged for collecting them)
    garbage = {row["benchmark"]: row["extra"]["cyclic_garbage_per_call"] for row in rows}
    assert garbage["vs CANN: register + unregister allocator"] == {"ours": 0.0, "cann": 1.0}
    assert garbage["vs CANN: run_graph"]["ours"] == 0.0
    assert "vs CANN: create a tensor" in done.stdout
