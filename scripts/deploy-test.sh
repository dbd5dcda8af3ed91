#!/usr/bin/env bash
# The public deployment of deploy/ (nginx in front of two app replicas), built and run with podman,
# then checked as a client meets it: scripts/deploy-check.py prints each figure next to its target.
#
#   scripts/deploy-test.sh            # build from a clean clone of HEAD, check, clean up
#   S2VIZ_DEPLOY_WORKTREE=1 ...       # build the work tree as it is instead
#
# Images: the app's Dockerfile and deploy/nginx.Dockerfile (nginx from Debian's packages), both on
# the debootstrapped bookworm of scripts/container-base.sh. The compose services become one pod:
# the replicas listen on 127.0.0.2:8000 and 127.0.0.3:8000 of the pod's loopback, named app1 and
# app2 for nginx as compose would name them; nginx is published on a free 127.0.0.1 port only.
# Bounded: every wait has a deadline; the pod is removed on any exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="$ROOT/containers/containers.conf"
BASE_IMAGE=${S2VIZ_BASE_IMAGE:-localhost/bookworm-py:local}
APP_TAG=localhost/s2viz:deploy
NGINX_TAG=localhost/s2viz-nginx:deploy
LABEL=s2viz.deploy-test=1
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

WORK=$(mktemp -d /tmp/s2viz-deploy.XXXXXX)
POD=
cleanup() {
    if [ -n "$POD" ]; then
        podman pod rm -f -t 3 "$POD" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
    if [ -n "$POD" ]; then
        for c in nginx app1 app2; do
            echo "--- $c log (tail) ---" >&2
            podman logs --tail 10 "$POD-$c" >&2 2>&1 || true
        done
    fi
    echo "deploy-test: FAIL: $*" >&2
    exit 1
}
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR
say() { echo "deploy-test: $*"; }

exec 9>/tmp/s2viz-deploy-test.lock
flock 9
stale=$(podman pod ps -q --filter "label=$LABEL" 2>/dev/null || true)
for p in $stale; do podman pod rm -f -t 3 "$p" >/dev/null 2>&1 || true; done

"$ROOT/scripts/container-base.sh" >/dev/null || fail "base image $BASE_IMAGE could not be made"

if [ "${S2VIZ_DEPLOY_WORKTREE:-0}" = 1 ]; then
    SRC=$ROOT
else
    git -C "$ROOT" clone -q --no-hardlinks "$ROOT" "$WORK/src" || fail "git clone of $ROOT"
    SRC=$WORK/src
fi

# Lint the nginx image's Dockerfile like the app's (hadolint from scripts/container-smoke.sh's venv).
HADOLINT=$(command -v hadolint || echo /tmp/s2viz-hadolint-venv/bin/hadolint)
if [ -x "$HADOLINT" ]; then
    "$HADOLINT" --failure-threshold warning "$SRC/deploy/nginx.Dockerfile" || fail "hadolint: deploy/nginx.Dockerfile"
fi

mounts=()
[ -r "$CA_BUNDLE" ] && mounts=(-v "$CA_BUNDLE:$CA_BUNDLE:ro")
build() {  # tag dockerfile
    local old new
    old=$(podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true)
    podman build --format docker --pull=never --build-arg "BASE=$BASE_IMAGE" "${mounts[@]}" \
        -f "$2" -t "$1" "$SRC" >"$WORK/build.log" 2>&1 \
        || { tail -n 20 "$WORK/build.log" >&2; fail "podman build $2"; }
    new=$(podman image inspect --format '{{.Id}}' "$1")
    if [ -n "$old" ] && [ "$old" != "$new" ]; then podman rmi "$old" >/dev/null 2>&1 || true; fi
}
t0=$(date +%s)
build "$APP_TAG" "$SRC/Dockerfile"
build "$NGINX_TAG" "$SRC/deploy/nginx.Dockerfile"
say "images built in $(( $(date +%s) - t0 )) s"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
POD=s2viz-deploy-$$
podman pod create --name "$POD" --label "$LABEL" -p "127.0.0.1:$PORT:8080" \
    --add-host app1:127.0.0.2 --add-host app2:127.0.0.3 >/dev/null 2>"$WORK/pod.log" \
    || { cat "$WORK/pod.log" >&2; fail "podman pod create"; }
for n in 1 2; do
    podman run -d --pod "$POD" --name "$POD-app$n" --read-only --read-only-tmpfs=false --cap-drop ALL \
        --security-opt no-new-privileges -e "GUNICORN_CMD_ARGS=--bind 127.0.0.$((n + 1)):8000 --workers 2" \
        "$APP_TAG" >/dev/null 2>>"$WORK/run.log" || { cat "$WORK/run.log" >&2; fail "podman run app$n"; }
done
podman run -d --pod "$POD" --name "$POD-nginx" --read-only --tmpfs /tmp --cap-drop ALL \
    --security-opt no-new-privileges "$NGINX_TAG" >/dev/null 2>>"$WORK/run.log" \
    || { cat "$WORK/run.log" >&2; fail "podman run nginx"; }

python3 "$ROOT/scripts/deploy-check.py" --base "http://127.0.0.1:$PORT" --kill "podman kill $POD-app1" \
    || fail "the deployment did not behave (above)"
say "PASS"
