"""The permalink corpus: links that exist outside this repository (the README's, the tests', every
preset on every model) must keep their meaning. Each link's API answer is pinned by the SHA-256 of
its bytes, so any change to an old link's JSON fails here.

Regenerate with S2VIZ_BLESS=1 only for an intended change, and say why in the commit.
"""
import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from app import create_app
from app.permalink import canonical_url, parse_query
from app.sim import MODELS
from app.sim.presets import PRESETS
from app.teach import lessons

HERE = Path(__file__).parent
CORPUS = HERE / "corpus" / "permalinks.json"
ROOT = HERE.parent
LINK = re.compile(r"/(?:v6\.12|v6\.14|patch-v3|v6\.17|v7\.1|v7\.3)/\?[A-Za-z0-9=&,._-]*")


def collected_links() -> list[str]:
    """Every permalink written in the README and the tests, plus every preset on every model."""
    links = set()
    for path in [ROOT / "README.md", *sorted((ROOT / "tests").rglob("*.py"))]:
        for m in LINK.findall(path.read_text()):
            parsed = parse_query(m.split("?", 1)[1])
            if parsed.ok:
                links.add(canonical_url(m.split("/")[1], parsed.scenario))
    for link in lessons.links():
        parsed = parse_query(link.split("?", 1)[1])
        links.add(canonical_url(link.split("/")[1], parsed.scenario))
    base = parse_query("f=40000000r,40000000w,40001000x,80000000r").scenario
    for preset in PRESETS.values():
        for mid in MODELS:
            links.add(canonical_url(mid, preset.apply(base)))
    return sorted(links)


def digest(client, link: str) -> str:
    r = client.get("/api/v1" + link, headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200, (link, r.status_code)
    return hashlib.sha256(r.data).hexdigest()


def test_every_known_permalink_keeps_its_meaning():
    client = create_app({"TESTING": True}).test_client()
    links = collected_links()
    if os.environ.get("S2VIZ_BLESS") == "1":
        # Re-pin every link, the ones no test writes any more included: they stay in the corpus.
        old = json.loads(CORPUS.read_text()) if CORPUS.exists() else {}
        got = {link: digest(client, link) for link in sorted(set(links) | set(old))}
        CORPUS.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    pinned = json.loads(CORPUS.read_text())
    missing = [link for link in links if link not in pinned]
    assert not missing, f"new permalinks not in the corpus yet (bless them): {missing[:5]}"
    changed = [link for link, d in pinned.items() if digest(client, link) != d]
    assert not changed, f"these permalinks changed meaning: {changed[:10]}"


@pytest.mark.parametrize("link", ["/v6.17/?vma=pfnmap,io&mem=dev&f=40000000r"])
def test_the_contract_example_is_in_the_corpus(link):
    assert link in json.loads(CORPUS.read_text())
