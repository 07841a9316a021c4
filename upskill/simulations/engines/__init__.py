"""Simulation engines: pure numpy worlds a policy plays in (see :mod:`.base` for the contract).

``get(name)`` returns the engine of that name: ``inventory``, ``recommender`` or ``fraud``.
"""

from __future__ import annotations

import importlib

from upskill.simulations.engines.base import Engine

__all__ = ["NAMES", "get"]

NAMES = ("inventory", "recommender", "fraud")


def get(name: str) -> Engine:
    """The engine called ``name``; ``KeyError`` for an unknown one."""
    if name not in NAMES:
        raise KeyError(name)
    module = importlib.import_module(f"upskill.simulations.engines.{name}")
    engine: Engine = module.ENGINE
    return engine
