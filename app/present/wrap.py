"""Where long identifiers may wrap: after |, ",", &, ~, ?, /, = and (, never inside a name (a phone
would otherwise break VM_MAYWRITE as VM_M/AYWRITE). The text is escaped and gets <wbr> there."""
from __future__ import annotations

import re

from markupsafe import Markup, escape

_AFTER = re.compile(r"([|,&~?/=(])")


def wbr(text) -> Markup:
    """text, escaped, with a line-break opportunity after each separator."""
    if isinstance(text, Markup):
        return text
    return Markup("").join(escape(piece) + (Markup("<wbr>") if _AFTER.fullmatch(piece) else Markup(""))
                           for piece in _AFTER.split(str(text)) if piece)
