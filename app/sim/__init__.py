"""The stage-2 fault simulator: a pure model of arm64 KVM, six kernel versions and the revisions of the
cacheable-PFNMAP series.

Imports nothing from the presentation, teaching or web layers. Its public surface, the only parts
other layers use (tests/test_sim_surface.py holds them to it):
- this package: `simulate(model_id, scenario, trace=True) -> Trace`, `MODELS` (every model) /
  `KERNELS` (the six kernels, what "every model" means in a listing) / `SERIES` (the series' revisions
  in the order posted, mainline's block state and the merged v6.17 last) / `LATEST`, the
  scenario types `Scenario`, `Fault` and `Event` (a host event between faults), the trace types
  `Trace`, `FaultResult`, `EventResult`, `Step`, `Leaf`, `decisive_step()`, `leaf_of()`, and `STEPS`,
  the step registry;
- `scenario` (the vocabularies and fixed layout a permalink speaks of), `presets` (real mappings),
  `sweep` (outcome-only sweeps for the behaviour maps), `sources` (each step's lines per kernel
  tag), `steps` (the registry: PATH, KEY_STEPS, MAIL_STEPS, ...), `trace` (the trace types),
  `units`, `hazards` (the host-safety catalogue), `series` (each revision's mail, base and changes,
  and the review between two) and `hw` (bit layouts, memory attributes, the
  stage-2 geometry and the guest's access rules, for display).
The kernel models (`kernel`) and the engine are internal.
"""
from .engine import simulate
from .kernel.catalogue import KERNELS, LATEST, MODELS, SERIES
from .kernel.kvm_main import backing_pa
from .scenario import Event, Fault, Scenario
from .steps import REGISTRY as STEPS
from .trace import EventResult, FaultResult, Leaf, Step, Trace, decisive_step, leaf_of

__all__ = ["simulate", "MODELS", "KERNELS", "SERIES", "LATEST", "Fault", "Event", "Scenario", "Trace", "FaultResult",
           "EventResult", "Step", "Leaf", "decisive_step", "leaf_of", "STEPS", "backing_pa"]
