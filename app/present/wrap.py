"""Where long identifiers may wrap: after |, ",", &, ~, ?, / and =, and before the ( of a call that
has arguments, never inside a name (a phone would otherwise break VM_MAYWRITE as VM_M/AYWRITE).
The text is escaped and gets <wbr> there."""
from __future__ import annotations

import re

from markupsafe import Markup, escape

# a break opportunity: after a separator, or before "(" that opens arguments (not "()")
_BREAK = re.compile(r"(?<=[|,&~?/=])|(?<=\w)(?=\([A-Za-z_])")


def wbr(text) -> Markup:
    """text, escaped, with a line-break opportunity at each place _BREAK finds."""
    if isinstance(text, Markup):
        return text
    return Markup("<wbr>").join(escape(piece) for piece in _BREAK.split(str(text)))
