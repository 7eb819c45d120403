"""``python -m ge demo`` runs the asynchronous-run flow end to end;
``python -m ge doctor`` reports which libraries were found."""

from __future__ import annotations

import argparse
import sys
from typing import Optional


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``python -m ge``."""
    parser = argparse.ArgumentParser(prog="python -m ge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a graph synchronously and asynchronously")
    demo.add_argument("--backend", choices=("auto", "cann", "stub"), default="auto")
    demo.add_argument("--device", type=int, default=0)
    sub.add_parser("doctor", help="report the libraries found and what is missing")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ge._demo import run_demo

        return run_demo(args.backend, args.device)
    from ge._doctor import run_doctor

    return run_doctor()


if __name__ == "__main__":
    sys.exit(main())
