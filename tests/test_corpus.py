"""The permalink corpus: links that exist outside this repository (the README's, the tests', every
preset on every model, the lessons') must keep their meaning. tests/corpus/decisions.txt records,
per link, what it decides (tests/goldens.py); a link once listed stays listed.

An intended change is blessed with `make bless`, which prints the diff it accepts."""
from tests.goldens import answer, collected_links, diff, read_corpus


def test_every_known_permalink_is_in_the_corpus():
    pinned = read_corpus()
    missing = [link for link in collected_links() if link not in pinned]
    assert not missing, f"new permalinks not in the corpus yet (`make bless`): {missing[:5]}"


def test_every_corpus_link_answers_the_same_decisions():
    changed = []
    for link, recorded in read_corpus().items():
        now = answer(link)
        if now != recorded:
            changed.append(diff(recorded, now, link))
    assert not changed, f"{len(changed)} permalinks changed meaning:\n" + "\n".join(changed[:5])[:8000]


def test_the_contract_example_is_in_the_corpus():
    assert "/v6.17/?vma=pfnmap,io&mem=dev&f=40000000r" in read_corpus()
