"""``python -m evals``: see :mod:`evals.run`."""

import sys

from evals.run import main

if __name__ == "__main__":
    sys.exit(main())
