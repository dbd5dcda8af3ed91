"""The stage-2 fault simulator: a pure model of arm64 KVM, four kernel versions.

Imports nothing from the web layer. The public surface is `simulate()`, `MODELS` and the
scenario types.
"""
from .engine import simulate
from .models import LATEST, MODELS
from .scenario import Fault, Scenario

__all__ = ["simulate", "MODELS", "LATEST", "Fault", "Scenario"]
