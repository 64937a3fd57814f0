"""``python -m fastfeed ...``: the same commands as the ``fastfeed`` script."""

from fastfeed.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
