#!/usr/bin/env bash
# Make the local stand-in for debian:bookworm-slim that the Dockerfile's BASE argument can point at
# when no registry is reachable: a minimal Debian bookworm (with python3, python3-venv and
# ca-certificates) built by debootstrap from the Debian mirror this machine's apt already uses, then
# imported into podman as localhost/bookworm-py:local.
#
# Idempotent: does nothing if the image exists. Installs podman, runc and debootstrap if missing.
# Environment: S2VIZ_BASE_IMAGE (default localhost/bookworm-py:local),
#              S2VIZ_DEBIAN_MIRROR (default: taken from apt's configured sources).
set -euo pipefail

fail() { echo "container-base: FAIL: $*" >&2; exit 1; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="$ROOT/containers/containers.conf"
IMAGE=${S2VIZ_BASE_IMAGE:-localhost/bookworm-py:local}
SUITE=bookworm

[ "$(id -u)" = 0 ] || fail "must run as root (debootstrap and rootful podman)"

missing=()
for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "container-base: installing ${missing[*]}"
    apt-get update -qq >/dev/null 2>&1 || fail "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null 2>&1 \
        || fail "apt-get install podman runc debootstrap"
fi

# Two runs at once would both debootstrap: the second waits here, then finds the image.
exec 9>/tmp/s2viz-container-base.lock
flock 9

if podman image exists "$IMAGE"; then
    echo "container-base: $IMAGE already present"
    exit 0
fi

# Repository URIs of the configured Debian suites, one "URI SUITE" per line, read through apt itself
# so both sources.list and deb822 .sources files count (--no-release-info: lists need not be fetched).
# shellcheck disable=SC2016  # $(...) here is apt's format syntax, not the shell's
repos=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
        'Created-By: Packages' 2>/dev/null | awk '$3 == "main" { print $1, $2 }' | sort -u)
uri_for() { awk -v s="$1" '$2 == s { print $1; exit }' <<<"$repos"; }

MIRROR=${S2VIZ_DEBIAN_MIRROR:-$(uri_for "$SUITE")}
[ -n "$MIRROR" ] || fail "no '$SUITE main' source in apt's configuration; set S2VIZ_DEBIAN_MIRROR"

TMP=$(mktemp -d /var/tmp/s2viz-base.XXXXXX)
ROOTFS=$TMP/rootfs
LOG=$TMP/log
# --one-file-system: never follow a mount (/proc below) that is still in place after a failure.
trap 'umount "$ROOTFS/proc" 2>/dev/null || true; rm -rf --one-file-system "$TMP"' EXIT

echo "container-base: debootstrap $SUITE from $MIRROR"
start=$(date +%s)
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$ROOTFS" "$MIRROR" >"$LOG" 2>&1 \
    || { tail -n 20 "$LOG" >&2; fail "debootstrap (log tail above)"; }

# Like the real image: the same suites as this machine uses, and no package lists or .debs inside.
{
    echo "deb $MIRROR $SUITE main"
    for extra in "$SUITE-updates" "$SUITE-security"; do
        uri=$(uri_for "$extra")
        [ -z "$uri" ] || echo "deb $uri $extra main"
    done
} >"$ROOTFS/etc/apt/sources.list"
# The published image carries the latest updates; so does this one. (It also keeps a later build
# from upgrading ca-certificates, whose postinst cannot rewrite the CA bundle the smoke build
# mounts read-only.)
mount -t proc proc "$ROOTFS/proc"
{ chroot "$ROOTFS" apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive chroot "$ROOTFS" apt-get upgrade -y -qq; } >"$LOG" 2>&1 \
    || { tail -n 20 "$LOG" >&2; fail "apt-get upgrade in the new root"; }
chroot "$ROOTFS" apt-get clean
umount "$ROOTFS/proc"
# This machine's name and resolver stay out (container runtimes supply their own).
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* \
       "$ROOTFS/etc/resolv.conf" "$ROOTFS/etc/hostname"

# Slim, like debian:*-slim: no documentation (copyright files stay), manuals or translations, now or
# for packages installed later; apt keeps no package caches.
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
cat >"$ROOTFS/etc/apt/apt.conf.d/slim" <<'CFG'
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Keep-Downloaded-Packages "false";
CFG
find "$ROOTFS/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
find "$ROOTFS/usr/share/doc" -depth -mindepth 1 -type d -empty -delete
find "$ROOTFS/usr/share/locale" -depth -mindepth 1 -not -name locale.alias -delete
for d in man info groff lintian linda; do
    [ ! -d "$ROOTFS/usr/share/$d" ] || find "$ROOTFS/usr/share/$d" -depth -mindepth 1 -delete
done

tar --numeric-owner -C "$ROOTFS" -c . \
    | podman import --quiet --change 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null \
    || fail "podman import"
echo "container-base: made $IMAGE in $(( $(date +%s) - start )) s"
