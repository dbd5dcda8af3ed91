#!/usr/bin/env python3
"""Check every model's line table against the kernel source it was read from.

For each model whose provenance in app/sim/data/sources.json names a Debian package, fetch that
package through a private apt root (the archive's signed index checks what is downloaded; the
machine's own apt configuration is not touched), check the SHA-256 of the downloaded artifact and
of every cited file, then check that each cited range lies inside the function it names and
contains the step's keyword.

    python3 scripts/verify_sources.py                 # fetch into the cache, then check
    python3 scripts/verify_sources.py --src v7.3=DIR  # check against an unpacked tree instead
    python3 scripts/verify_sources.py --record        # also write the files' SHA-256 into the table

The cache lives outside the repository: $S2VIZ_SOURCES_CACHE, default /var/tmp/s2viz-sources.
Standard library only. Exit status 0 when every check passes.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "app" / "sim" / "data" / "sources.json"
CACHE = Path(os.environ.get("S2VIZ_SOURCES_CACHE", "/var/tmp/s2viz-sources"))
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
MIRROR = os.environ.get("S2VIZ_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITES = ("trixie", "trixie-backports")
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# ---- fetching ---------------------------------------------------------------------------------

def apt_root() -> Path:
    """A private apt configuration under the cache: its own sources, lists and status file."""
    base = CACHE / "apt"
    etc = base / "etc"
    for d in (etc / "sources.list.d", etc / "preferences.d", etc / "apt.conf.d", base / "state" / "lists" / "partial",
              base / "cache" / "archives" / "partial"):
        d.mkdir(parents=True, exist_ok=True)
    lines = []
    for suite in SUITES:
        for kind in ("deb", "deb-src"):
            lines.append(f"{kind} [signed-by={KEYRING}] {MIRROR} {suite} main")
    (etc / "sources.list").write_text("\n".join(lines) + "\n")
    (base / "state" / "status").touch()
    conf = base / "apt.conf"
    conf.write_text("\n".join([
        f'Dir::Etc "{etc}/";', f'Dir::State "{base}/state/";', f'Dir::State::status "{base}/state/status";',
        f'Dir::Cache "{base}/cache/";', 'APT::Sandbox::User "root";', ""]))
    return conf


_updated = False


def apt(conf: Path, *args: str, cwd: Path) -> None:
    global _updated
    env = dict(os.environ, APT_CONFIG=str(conf))
    if not _updated:
        subprocess.run(["apt-get", "-q", "update"], env=env, check=True, stdout=subprocess.DEVNULL)
        _updated = True
    subprocess.run(["apt-get", "-q", *args], env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def fetch(prov: dict) -> Path:
    """The artifact the model's provenance names, downloaded once into the cache."""
    dl = CACHE / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    path = dl / prov["artifact"]
    if not path.exists():
        conf = apt_root()
        if prov["kind"] == "deb":
            apt(conf, "download", f"{prov['package']}={prov['version']}", cwd=dl)
        else:
            apt(conf, "source", "--download-only", "--tar-only", f"{prov['package']}={prov['version']}", cwd=dl)
    got = sha256(path.read_bytes())
    if got != prov["artifact_sha256"]:
        raise SystemExit(f"{path.name}: SHA-256 {got} is not the recorded {prov['artifact_sha256']}")
    return path


def unpack(mid: str, prov: dict, files: set[str]) -> Path:
    """Extract the cited files of one model's source into the cache; returns the tree's root."""
    out = CACHE / "src" / mid
    if all((out / f).exists() for f in files):
        return out
    artifact = fetch(prov)
    if prov["kind"] == "deb":
        inner = CACHE / "dl" / (artifact.name + ".src.tar.xz")
        if not inner.exists():
            data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(artifact)], check=True,
                                  stdout=subprocess.PIPE).stdout
            import io
            with tarfile.open(fileobj=io.BytesIO(data)) as deb:
                member = deb.getmember("./" + prov["member"])
                inner.write_bytes(deb.extractfile(member).read())
        artifact = inner
    prefix = prov["root"].rstrip("/") + "/"
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(artifact) as tar:
        for m in tar:
            if m.isfile() and m.name.startswith(prefix) and m.name[len(prefix):] in files:
                dest = out / m.name[len(prefix):]
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(tar.extractfile(m).read())
    return out


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- checking ---------------------------------------------------------------------------------

def function_span(lines: list[str], func: str) -> tuple[int, int] | None:
    """1-based (first, last) line of the definition of func: from its signature to the closing
    brace in column 0 (kernel style). None when there is no definition."""
    sig = re.compile(r"^(?:[A-Za-z_].*[\s*])?" + re.escape(func) + r"\s*\(")
    for i, line in enumerate(lines):
        if not sig.match(line) or line.rstrip().endswith(";") or line.startswith("#"):
            continue
        j = i
        while j < len(lines) and not lines[j].startswith("{"):
            if lines[j].rstrip().endswith(";"):
                break
            j += 1
        if j >= len(lines) or not lines[j].startswith("{"):
            continue
        k = j + 1
        while k < len(lines) and not lines[k].startswith("}"):
            k += 1
        start = i if i == 0 or not lines[i - 1].strip() or lines[i - 1].rstrip().endswith(("*/", "}", ";")) else i - 1
        return start + 1, k + 1
    return None


def check_step(lines: list[str], sid: str, entry: dict, keyword: str) -> list[str]:
    first, last = entry["lines"]
    errors = []
    if not 0 < first <= last <= len(lines):
        return [f"{sid}: lines {first}-{last} outside the file ({len(lines)} lines)"]
    func = entry["func"]
    if IDENT.match(func):
        span = function_span(lines, func)
        if span is None:
            errors.append(f"{sid}: no definition of {func}() in {entry['file']}")
        elif not (span[0] <= first and last <= span[1]):
            errors.append(f"{sid}: lines {first}-{last} are not inside {func}() ({span[0]}-{span[1]})")
    text = "\n".join(lines[first - 1:last])
    if keyword not in text:
        errors.append(f"{sid}: keyword '{keyword}' not in {entry['file']}:{first}-{last}")
    return errors


def keyword_for(table: dict, mid: str, sid: str, entry: dict) -> str | None:
    return entry.get("kw") or table["keywords"].get(sid)


def verify(table: dict, mid: str, root: Path, record: bool) -> list[str]:
    prov = table["provenance"][mid]
    steps = table["models"][mid]
    errors = []
    hashes = prov.setdefault("files", {})
    for path in sorted({e["file"] for e in steps.values()}):
        data = (root / path).read_bytes()
        digest = sha256(data)
        if record:
            hashes[path] = digest
        elif hashes.get(path) != digest:
            errors.append(f"{path}: SHA-256 {digest} is not the recorded {hashes.get(path)}")
    cache: dict[str, list[str]] = {}
    for sid, entry in sorted(steps.items()):
        kw = keyword_for(table, mid, sid, entry)
        if kw is None:
            errors.append(f"{sid}: no keyword recorded")
            continue
        lines = cache.setdefault(entry["file"], (root / entry["file"]).read_text(errors="replace").splitlines())
        errors += check_step(lines, sid, entry, kw)
    return errors


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", action="append", default=[], metavar="MODEL=DIR",
                    help="check MODEL against an unpacked kernel tree instead of fetching")
    ap.add_argument("--record", action="store_true", help="write the files' SHA-256 into the table")
    ap.add_argument("models", nargs="*", help="models to check (default: every model with a package)")
    args = ap.parse_args(argv)
    table = json.loads(TABLE.read_text())
    trees = dict(s.split("=", 1) for s in args.src)
    failed = 0
    for mid, prov in table["provenance"].items():
        if args.models and mid not in args.models:
            continue
        if "package" not in prov:
            print(f"{mid}: {prov['note']} (not fetched)")
            continue
        files = {e["file"] for e in table["models"][mid].values()}
        root = Path(trees[mid]) if mid in trees else unpack(mid, prov, files)
        errors = verify(table, mid, root, args.record)
        n = len(table["models"][mid])
        print(f"{mid}: {prov['package']} {prov['version']}: {n} steps, "
              + ("all confirmed" if not errors else f"{len(errors)} problems"))
        for e in errors:
            print("  " + e)
        failed += bool(errors)
    if args.record:
        TABLE.write_text(json.dumps(table, indent=1) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
