"""Benchmarks of ``ge`` against the physical floor, on the CPU stand-in.

``python -m benchmarks [--quick] [--json PATH] [--only NAME ...]`` runs them,
prints one table and writes JSON (see ``benchmarks/run.py``). Families:

* ``calls``: per-call overhead of ``Session.run_graph`` and
  ``run_graph_with_stream_async`` against the bare ctypes sequence;
* ``allocator``: a GE malloc + free round trip through the CFUNCTYPE
  trampolines against no-op CFUNCTYPE callbacks;
* ``datapath``: ``Tensor.from_numpy`` / ``Tensor.numpy()`` against
  ``numpy.copy`` bandwidth, and the text fallback;
* ``scaling``: ``run_graph`` as live sessions and registered graphs grow;
* ``peer`` (with ``--cann-python DIR`` only): the same operations through
  CANN's own Python package, each package in child processes
  (``bench_peer``, ``_peer_child``).
"""
