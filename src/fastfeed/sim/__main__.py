"""``python -m fastfeed.sim``: same as ``fastfeed simulate``."""

import sys

from fastfeed.sim.cli import run_standalone

if __name__ == "__main__":
    sys.exit(run_standalone(sys.argv[1:]))
