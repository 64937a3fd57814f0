"""Local exchange simulator: real venue protocols, fault injection and ground truth.

Used by the tests, the benchmarks and ``fastfeed demo``/``fastfeed simulate``. See
:mod:`fastfeed.sim.server` for the URL scheme and :mod:`fastfeed.sim.faults` for the faults.
"""

from fastfeed.sim.cli import build_arg_parser, run_standalone
from fastfeed.sim.config import VENUES, FaultSpec, SimConfig, SymbolConfig
from fastfeed.sim.faults import FAULTS
from fastfeed.sim.server import Simulator
from fastfeed.sim.truth import BookTruth

__all__ = [
    "FAULTS",
    "VENUES",
    "BookTruth",
    "FaultSpec",
    "SimConfig",
    "Simulator",
    "SymbolConfig",
    "build_arg_parser",
    "run_standalone",
]
