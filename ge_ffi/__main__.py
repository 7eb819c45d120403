"""``python -m ge_ffi``: the command line of :mod:`ge_ffi.cli`."""

import sys

from ge_ffi.cli import main

if __name__ == "__main__":
    sys.exit(main())
