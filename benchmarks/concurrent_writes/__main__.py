"""``python -m benchmarks.concurrent_writes``: see the package's docstring."""

import sys

from benchmarks.concurrent_writes import main

if __name__ == "__main__":
    sys.exit(main())
