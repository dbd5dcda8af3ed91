"""What a person would see, measured in the page: the smallest text shown, boxes whose content
spills out of them, descriptor labels that overlap, words broken across lines, and whether a part
of the picture lies inside the viewport."""
from __future__ import annotations

# Skipped: what is not shown (hidden, closed <details>, screen-reader text, a tooltip not opened).
SHOWN = """(e) => !e.closest('[hidden], details:not([open]) > :not(summary), .sr-only, .term-def, script, style')
    && e.getClientRects().length > 0"""

SMALLEST = f"""(root) => {{
  const shown = {SHOWN};
  let least = 1e9, where = '';
  for (const e of document.querySelectorAll(root + ' *')) {{
    if (!shown(e) || !e.getBoundingClientRect().width) continue;
    if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    let fs = parseFloat(getComputedStyle(e).fontSize);
    if (e instanceof SVGElement) {{ const m = e.getScreenCTM(); fs *= m ? m.a : 1; }}
    if (fs < least) {{
      least = fs;
      where = e.tagName + '.' + (e.getAttribute('class') || '') + ': ' + e.textContent.trim().slice(0, 40);
    }}
  }}
  return [least, where];
}}"""

# A box whose content reaches past its own edge (text spilling out of a panel, a table cell, a
# descriptor field): scrollWidth/scrollHeight count what overflows even when it is visible.
SPILLS = f"""(selector) => {{
  const shown = {SHOWN};
  return [...document.querySelectorAll(selector)].filter(shown)
    .filter((e) => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
    .map((e) => e.className + ' +' + (e.scrollWidth - e.clientWidth) + 'x' + (e.scrollHeight - e.clientHeight));
}}"""

# Descriptor fields: every name and value box, pairwise, must not overlap another field's.
DESC_OVERLAPS = """() => {
  const out = [];
  for (const desc of document.querySelectorAll('.desc')) {
    if (!desc.getClientRects().length) continue;
    const boxes = [...desc.querySelectorAll('.field')]
      .map((f) => [f, [...f.children].map((c) => c.getBoundingClientRect())]);
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      for (const a of boxes[i][1]) for (const b of boxes[j][1]) {
        if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5)
          out.push(boxes[i][0].textContent + ' / ' + boxes[j][0].textContent);
      }
      const fa = boxes[i][0].getBoundingClientRect();
      for (const c of boxes[i][1]) {
        if (c.right > fa.right + 0.5 || c.left < fa.left - 0.5) out.push(boxes[i][0].textContent + ' spills');
      }
    }
  }
  return out;
}"""

# Words (identifiers of 3 or more characters) whose letters land on two lines.
BROKEN_WORDS = f"""() => {{
  const shown = {SHOWN};
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {{
    const el = n.parentElement;
    if (!el || !shown(el) || el.closest('svg')) continue;
    const re = /[A-Za-z0-9_]{{3,}}/g; let m;
    while ((m = re.exec(n.textContent))) {{
      const r = document.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
      const tops = new Set([...r.getClientRects()].filter((x) => x.width > 0).map((x) => Math.round(x.top)));
      if (tops.size > 1) out.push(m[0]);
    }}
  }}
  return out;
}}"""

INSIDE = """(selector) => {
  const e = document.querySelector(selector);
  if (!e || !e.getClientRects().length) return false;
  const r = e.getBoundingClientRect();
  return r.top >= -0.5 && r.left >= -0.5 && r.bottom <= innerHeight + 0.5 && r.right <= innerWidth + 0.5;
}"""

CONTRAST = """(selector) => {
  const rgb = (s) => s.match(/[0-9.]+/g).slice(0, 3).map(Number).map((c) => {
    c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
  const lum = (s) => { const [r, g, b] = rgb(s); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const a = lum(getComputedStyle(document.querySelector(selector)).color);
  const b = lum(getComputedStyle(document.body).backgroundColor);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def smallest(p, root: str = "body") -> tuple[float, str]:
    return tuple(p.evaluate(SMALLEST, root))


def spills(p, selector: str) -> list[str]:
    return p.evaluate(SPILLS, selector)


def overlaps(p) -> list[str]:
    return p.evaluate(DESC_OVERLAPS)


def broken_words(p) -> list[str]:
    return p.evaluate(BROKEN_WORDS)


def inside(p, selector: str) -> bool:
    return p.evaluate(INSIDE, selector)


def contrast(p, selector: str) -> float:
    return p.evaluate(CONTRAST, selector)
