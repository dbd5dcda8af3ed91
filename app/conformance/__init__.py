"""Ground truth: what Debian's real arm64 kernels did with each scenario under QEMU, next to what the
model of that kernel says.

The fixtures (app/data/conformance/linux-<version>-<cpu>.json, package data, so that an installed
wheel shows them too) are written by `make conformance` (conformance/harness.py). Each recorded case
names the permalink that expresses it; running that permalink through the simulator must give what the
real kernel did: the memslot's answer, each access's outcome (errno, exit, injected abort) and, where a
leaf was written, its descriptor and the ESR the CPU reported. Disagreements the project knows of are
listed in KNOWN or recognised by the rules in `known`, each with a one-line reason and the kernel
source line that explains it.

- recordings: the runs as package data, and what names a run;
- readings: a recording and a trace read into the same terms;
- known: the differences with their reasons;
- compare: one case against its model, and counts;
- overview: every case, per model and run, and the line a trace page shows;
- views: /conformance/ and its JSON.
"""
from __future__ import annotations

from .compare import compare_case
from .known import KNOWN, probe_slot_ends_sooner, young_from_an_atomics_walk
from .overview import campaign_report, checked, report
from .readings import desc_attrs
from .recordings import SLOT_SIZE, SOURCE_READ_ONLY, TEST_IPA, bug_runs, campaigns, fixture_dir, fixtures, run_id
from .views import bp

__all__ = ["KNOWN", "SLOT_SIZE", "SOURCE_READ_ONLY", "TEST_IPA", "bp", "bug_runs", "campaign_report", "campaigns",
           "checked", "compare_case", "desc_attrs", "fixture_dir", "fixtures", "probe_slot_ends_sooner", "report",
           "run_id", "young_from_an_atomics_walk"]
