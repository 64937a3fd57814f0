# cython: language_level=3
# PLACEHOLDER (branch parse): stands in for the colleague's compiled benchmark kit so this
# branch builds and its benchmarks run. On merge take the colleague's _benchkit.pyx, which
# includes the same file.
"""Compiled benchmark loops (placeholder: only the parse kit)."""

include "benchkit/parse.pxi"
