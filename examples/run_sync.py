"""Run a graph synchronously: build (x + y) * x, run it, read the result as numpy.

python examples/run_sync.py    # on CANN where its libraries are found, else on
                               # the CPU stand-in (one line on stderr says so)
"""

from __future__ import annotations

import numpy as np

import ge
import ge.acl
from ge.testing import select_backend

select_backend()  # CANN where usable, else the CPU stand-in (needs a C compiler)

x = np.arange(6, dtype=np.float32).reshape(2, 3)
y = np.full((2, 3), 0.5, dtype=np.float32)

ge.acl.init()
with ge.acl.Device(0), ge.initialized({"ge.exec.deviceId": "0"}):
    builder = ge.GraphBuilder("sync_example")
    hx = builder.input(0, ge.DataType.DT_FLOAT, x.shape)
    hy = builder.input(1, ge.DataType.DT_FLOAT, y.shape)
    with builder.build([(hx + hy) * hx]) as graph, ge.Session() as session:
        session.add_graph(1, graph)
        (out,) = session.run_graph(1, [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y)])
        result = out.numpy()
ge.acl.finalize()

print(result)
assert np.allclose(result, (x + y) * x)
