"""The ``main`` of the scenario scripts run by the reliability tests: ``python
SCRIPT NAME TIMEOUT`` runs scenario ``NAME`` between ACL/GE initialisation and
finalisation (:func:`ge_up`), dumps every thread's stack and exits if it takes
longer than ``TIMEOUT`` seconds (plus ``grace``), checks that the stand-in holds
no live object afterwards, and prints ``OK``."""

from __future__ import annotations

import faulthandler
import gc
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

import ge
import ge.acl
from ge.testing import stub_control


@contextmanager
def ge_up() -> Iterator[None]:
    """ACL initialised with device 0 set, and GE initialised, while the block runs;
    then both finalized, a collection, and every live count of the stand-in must be
    zero. (Nothing is finalized when the block raises: the child fails as it is.)"""
    stub = stub_control()
    ge.acl.init()
    device = ge.acl.Device(0)
    device.set()
    ge.initialize()
    yield
    ge.finalize()
    device.reset()
    ge.acl.finalize()
    gc.collect()
    counts = stub.live_counts()
    assert counts == dict.fromkeys(counts, 0), counts


def run_in_child(body: Callable[[], None], timeout: float, grace: float = 0.0) -> None:
    """Run ``body()`` between :func:`ge_up`'s set-up and checks; dump every
    thread's stack and exit if it all takes longer than ``timeout`` plus
    ``grace`` seconds; print ``OK`` once it passed."""
    faulthandler.dump_traceback_later(timeout + grace, exit=True, file=sys.stdout)
    with ge_up():
        body()
    faulthandler.cancel_dump_traceback_later()
    print("OK")


def run_scenario_main(scenarios: dict[str, Callable[[float], None]], grace: float = 0.0) -> None:
    """Run the scenario that ``sys.argv`` names (see the module's docstring)."""
    name, timeout = sys.argv[1], float(sys.argv[2])
    deadline = time.monotonic() + timeout
    run_in_child(lambda: scenarios[name](deadline), timeout, grace)
