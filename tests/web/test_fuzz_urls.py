"""Ten thousand mangled permalinks: never a 5xx, on the page, the API and the figure."""
import random

from app import create_app

SEEDS = ["/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w",
         "/patch-v3/?vma=pfnmap,io,maywrite&mt=ngnrne&mem=dev&host=&f=40000000r.ptw",
         "/v7.1/?g=64k&ipa=48&vma=hugetlb,maywrite&pg=512m&f=40000000w.atomic,80000000r.noisv&step=4",
         "/v6.14/?slot=log,ro&vm=nisv&gs1=off&remap=1&f=90000000x"]
ALPHABET = "abcdefxyz0123456789=&,.%_-+/?#;:~!$'()*[]{}|\\^`\"<> \t\x00\x7fé"


def mangle(rng: random.Random, url: str) -> str:
    chars = list(url)
    for _ in range(rng.randint(1, 6)):
        op, i = rng.random(), rng.randrange(len(chars) + 1)
        if op < 0.4:
            chars.insert(i, rng.choice(ALPHABET))
        elif op < 0.7 and chars:
            del chars[min(i, len(chars) - 1)]
        elif chars:
            chars[min(i, len(chars) - 1)] = rng.choice(ALPHABET)
    return "".join(chars)


def test_ten_thousand_fuzzed_urls_never_5xx():
    client = create_app({"TESTING": True}).test_client()
    rng = random.Random(20261124)
    bad = []
    for n in range(10_000):
        url = mangle(rng, rng.choice(SEEDS))
        if not url.startswith("/"):
            url = "/" + url
        prefix = ("", "/api/v1", "/figure")[n % 3]
        r = client.get(prefix + url, headers={"HX-Request": "true"} if n % 5 == 0 else {})
        if r.status_code >= 500:
            bad.append((prefix + url, r.status_code))
    assert bad == []
