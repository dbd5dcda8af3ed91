#!/usr/bin/env bash
# Fetch every package in packages.lock through the private apt roots, check its SHA-256 and
# extract it under $W/pkg/<package>. One line per package on stdout: "ok <pkg>" or "FAILED <pkg>: why".
# Host tools (cross compiler, QEMU 7.2 and its libraries, cpio) come from the machine's own apt.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
W=${W:-$here/work}
mkdir -p "$W/deb" "$W/pkg"

need=()
for cmd in aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu qemu-system-aarch64:qemu-system-arm cpio:cpio; do
    command -v "${cmd%%:*}" >/dev/null || need+=("${cmd#*:}")
done
[ -e /usr/aarch64-linux-gnu/lib/libc.a ] || need+=(libc6-dev-arm64-cross)
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
if [ ${#need[@]} -gt 0 ]; then
    echo "conformance: installing host tools: ${need[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=900 \
        --no-install-recommends "${need[@]}" >&2 || { echo "FAILED host tools: apt-get install ${need[*]}"; exit 1; }
fi

"$here/apt.sh" "$W/apt-arm64" arm64 trixie trixie-backports sid >&2 || echo "FAILED apt root arm64: apt-get update"
"$here/apt.sh" "$W/apt-host" amd64 bookworm-backports >&2 || echo "FAILED apt root host: apt-get update"

# ONLY="pkg ...": fetch these packages of the lock and no others.
grep -v '^#' "$here/packages.lock" | while IFS=$'\t' read -r role kver root pkg ver sha; do
    [ -n "$pkg" ] || continue
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $pkg "* ]]; then continue; fi
    dir="$W/pkg/$pkg"
    if [ -e "$dir/.sha256" ] && [ "$(cat "$dir/.sha256")" = "$sha" ]; then echo "ok $pkg"; continue; fi
    tmp=$(mktemp -d "$W/deb/dl.XXXXXX")
    if ! (cd "$tmp" && "$here/apt.sh" "$W/apt-$root" "$([ "$root" = host ] && echo amd64 || echo arm64)" -- \
            -q download "$pkg=$ver") >&2; then
        echo "FAILED $pkg=$ver: apt-get download failed (not in the archive any more?)"; rm -rf "$tmp"; continue
    fi
    deb=$(ls "$tmp"/*.deb)
    got=$(sha256sum "$deb" | cut -d' ' -f1)
    if [ "$got" != "$sha" ]; then
        echo "FAILED $pkg=$ver: SHA-256 $got, the lock says $sha"; rm -rf "$tmp"; continue
    fi
    rm -rf "$dir" && mkdir -p "$dir" && dpkg-deb -x "$deb" "$dir" && echo "$sha" > "$dir/.sha256" \
        && echo "ok $pkg" || echo "FAILED $pkg: dpkg-deb -x"
    rm -rf "$tmp"
done
