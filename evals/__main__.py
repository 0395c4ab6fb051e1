"""``python -m evals``: see :mod:`evals.cli`."""

import sys

from evals.cli import main

if __name__ == "__main__":
    sys.exit(main())
