"""Run a graph asynchronously on a stream, with a caching allocator for the outputs.

python examples/run_async.py   # on CANN where its libraries are found, else on
                               # the CPU stand-in (one line on stderr says so)
"""

from __future__ import annotations

import numpy as np

import ge
import ge.acl
from ge.allocator import AclAllocator, CachingAllocator
from ge.testing import select_backend

select_backend()  # CANN where usable, else the CPU stand-in (needs a C compiler)

x = np.arange(6, dtype=np.float32).reshape(2, 3)
y = np.full((2, 3), 0.5, dtype=np.float32)

ge.acl.init()
with ge.acl.Device(0), ge.acl.Stream() as stream, ge.initialized({"ge.exec.deviceId": "0"}):
    builder = ge.GraphBuilder("async_example")
    hx = builder.input(0, ge.DataType.DT_FLOAT, x.shape)
    hy = builder.input(1, ge.DataType.DT_FLOAT, y.shape)
    allocator = CachingAllocator(AclAllocator())
    with builder.build([(hx + hy) * hx]) as graph, ge.Session() as session:
        session.add_graph(1, graph)
        session.register_external_allocator(stream, allocator)
        inputs = [ge.Tensor.from_numpy(x).to_device(), ge.Tensor.from_numpy(y).to_device()]
        for _ in range(3):
            (out,) = session.run_graph_with_stream_async(1, stream, inputs)
            stream.synchronize()  # outputs are valid only after this
            result = out.numpy()
            out.close()  # gives the block back to the allocator's cache
            assert np.allclose(result, (x + y) * x)
    # closing the session unregistered the allocator; now return its cache
    allocator.empty_cache()
    print(result)
    print(allocator.stats())
ge.acl.finalize()
