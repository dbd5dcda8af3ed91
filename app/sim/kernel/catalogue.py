"""Every model, and the two lists the rest of the application reads them through: KERNELS, the six
kernels (the views that list "the kernels": the page's model picker, /all/, the behaviour maps, the
exercises' "all", the corpus's preset-on-every-model loop), and SERIES, the posted revisions of the
cacheable-PFNMAP series in the order they were posted, with mainline's block state and the merged
v6.17 last (the series view). Every model answers permalinks, the API, the CLI and a..b."""
from __future__ import annotations

from .models import KERNEL_MODELS, LATEST
from .revisions import REVISION_MODELS

MODELS = {**KERNEL_MODELS, **REVISION_MODELS}
KERNELS = tuple(KERNEL_MODELS)
SERIES = ("patch-v1", "patch-v2", "patch-v3", "patch-v4", "patch-v5", "patch-v7", "patch-v8", "patch-v9",
          "patch-v10", "block-pfnmap", "v6.17")

__all__ = ["MODELS", "KERNELS", "SERIES", "LATEST"]
