"""The og:image card of a permalink: a 1200 x 630 PNG with the model, the scenario and the verdict,
drawn on the server. Deterministic: the same permalink gives the same bytes (Pillow's own
bundled font, no system font, no timestamp in the file)."""
from __future__ import annotations

import io
import textwrap
from functools import lru_cache

W, H = 1200, 630
BG, FG, MUTED, ACCENT = "#ffffff", "#1d2330", "#5b6575", "#2457a6"
OK, OK_BG, BAD, BAD_BG = "#1f7a3a", "#e7f5ec", "#a4281d", "#fbeceb"


@lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont
    return ImageFont.load_default(size=size)


def card(model: str, model_title: str, scenario: str, accesses: str, verdict: str, ok: bool) -> bytes:
    """The card as PNG bytes."""
    from PIL import Image, ImageDraw
    img = Image.new("RGB", (W, H), BG)
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, W, 86), fill="#18202e")
    d.text((48, 24), "s2viz", font=_font(38), fill="#ffffff")
    d.text((190, 36), "how arm64 KVM handles a stage-2 fault", font=_font(26), fill="#aeb8c8")
    d.text((48, 118), model, font=_font(52), fill=ACCENT)
    d.text((48, 184), textwrap.shorten(model_title, 84, placeholder=" …"), font=_font(24), fill=MUTED)
    y = 240
    for line in textwrap.wrap(scenario, 62)[:3]:
        d.text((48, y), line, font=_font(30), fill=FG)
        y += 42
    d.text((48, y + 8), textwrap.shorten(accesses, 80, placeholder=" …"), font=_font(26), fill=MUTED)
    box = (40, 440, W - 40, 590)
    d.rounded_rectangle(box, radius=16, fill=OK_BG if ok else BAD_BG, outline=OK if ok else BAD, width=4)
    lines = textwrap.wrap(verdict, 48)[:2]
    for i, line in enumerate(lines):
        d.text((72, 470 + i * 52 + (26 if len(lines) == 1 else 0)), line, font=_font(40), fill=OK if ok else BAD)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
