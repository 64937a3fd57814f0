"""``python -m fastfeed.bench ARGS...`` (the same as ``fastfeed bench ARGS...``)."""

import sys

from fastfeed.bench.cli import main

sys.exit(main())
