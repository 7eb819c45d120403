"""The ``main`` of the scenario scripts run by the reliability tests: ``python
SCRIPT NAME TIMEOUT`` runs scenario ``NAME`` between ACL/GE initialisation and
finalisation, dumps every thread's stack and exits if it takes longer than
``TIMEOUT`` seconds (plus ``grace``), checks that the stand-in holds no live
object afterwards, and prints ``OK``."""

from __future__ import annotations

import faulthandler
import gc
import sys
import time
from typing import Callable

import ge
import ge.acl
from ge.testing import stub_control


def run_scenario_main(scenarios: dict[str, Callable[[float], None]], grace: float = 0.0) -> None:
    """Run the scenario that ``sys.argv`` names (see the module's docstring)."""
    name, timeout = sys.argv[1], float(sys.argv[2])
    deadline = time.monotonic() + timeout
    faulthandler.dump_traceback_later(timeout + grace, exit=True, file=sys.stdout)
    stub = stub_control()
    ge.acl.init()
    device = ge.acl.Device(0)
    device.set()
    ge.initialize()
    scenarios[name](deadline)
    ge.finalize()
    device.reset()
    ge.acl.finalize()
    gc.collect()
    counts = stub.live_counts()
    assert counts == dict.fromkeys(counts, 0), counts
    faulthandler.cancel_dump_traceback_later()
    print("OK")
