#!/usr/bin/env bash
# Build the kernel the patch-v3 fixtures are recorded on: Debian's linux-source-6.12 (6.12.117-1, the
# nearest source the archive carries to v6.14, which the v3 patch was written for), the v3 patch as it
# was mailed (v3-1-1-allow-cacheable-stage2-mapping.patch: lore message-id
# 20250310103008.3471-2-ankita@nvidia.com, 10 Mar 2025), whose mmu.c hunk 4 does not apply to 6.12
# (its context, the comment above `device = true`, is not in 6.12), that hunk ported by
# port-6.12.117.patch, and config.fragment on allnoconfig. Everything is pinned by SHA-256 below;
# build.json beside the Image records them with the Image's own.
#   W=<work dir> conformance/v3/build.sh        -> $W/v3/Image, $W/v3/build.json
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
W=${W:-$here/../work}
out=$W/v3
SRC_PKG=linux-source-6.12 SRC_VER=6.12.117-1
SRC_DEB_SHA=9141325315c7f1eca682113d185a8c77c82814aa6e32f7e127e61d6106403835
SRC_TAR_SHA=$(cat "$here/source.sha256")
MAIL=$here/v3-1-1-allow-cacheable-stage2-mapping.patch PORT=$here/port-6.12.117.patch FRAG=$here/config.fragment
MAIL_SHA=$(sed -n 's/^mail-patch  //p' "$here/pins.sha256") PORT_SHA=$(sed -n 's/^port-patch  //p' "$here/pins.sha256")
FRAG_SHA=$(sed -n 's/^config  //p' "$here/pins.sha256")
check() { [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ] || { echo "v3 build: $1 is not the pinned file ($2)" >&2; exit 1; }; }
check "$MAIL" "$MAIL_SHA"; check "$PORT" "$PORT_SHA"; check "$FRAG" "$FRAG_SHA"
mkdir -p "$out"
deb=$(ls "$out"/${SRC_PKG}_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
    "$here/../apt.sh" "$W/apt-arm64" arm64 trixie trixie-backports sid >&2
    (cd "$out" && "$here/../apt.sh" "$W/apt-arm64" arm64 -- -q download "$SRC_PKG=$SRC_VER") >&2
    deb=$(ls "$out"/${SRC_PKG}_*.deb)
fi
check "$deb" "$SRC_DEB_SHA"
if [ ! -e "$out/src/.patched" ]; then
    rm -rf "$out/src" "$out/tar" && mkdir -p "$out/src" "$out/tar"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$out/tar" --wildcards '*.tar.xz'
    tarball=$(ls "$out"/tar/usr/src/linux-source-6.12.tar.xz)
    check "$tarball" "$SRC_TAR_SHA"
    tar -xJf "$tarball" -C "$out/src" --strip-components=1
    cd "$out/src"
    # The mailed patch: four of its five hunks apply (with offsets); mmu.c hunk 4 must be the one refused.
    if patch -p1 -r "$out/mail.rej" --no-backup-if-mismatch < "$MAIL" > "$out/mail.log"; then
        echo "v3 build: the mailed patch applied whole; port-6.12.117.patch expects its hunk 4 to fail" >&2; exit 1
    fi
    grep -q "Hunk #4 FAILED" "$out/mail.log" && [ "$(grep -c FAILED "$out/mail.log")" = 2 ] || {
        cat "$out/mail.log" >&2; echo "v3 build: not the expected rejection" >&2; exit 1; }
    patch -p1 --no-backup-if-mismatch < "$PORT"
    touch .patched
fi
cd "$out/src"
export ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
KCONFIG_ALLCONFIG="$FRAG" make -s allnoconfig
missing=$(grep '^CONFIG_' "$FRAG" | while read -r l; do grep -qx "$l" .config || echo "$l"; done)
[ -z "$missing" ] || { echo "v3 build: the configuration lacks: $missing" >&2; exit 1; }
make -s -j"${JOBS:-2}" Image
cp arch/arm64/boot/Image "$out/Image"
python3 - "$out" <<PY
import hashlib, json, sys
h = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
out = sys.argv[1]
json.dump({"base": "$SRC_PKG $SRC_VER (Linux 6.12.117)", "source_deb_sha256": "$SRC_DEB_SHA",
           "source_tarball_sha256": "$SRC_TAR_SHA", "mail_patch_sha256": "$MAIL_SHA", "port_patch_sha256": "$PORT_SHA",
           "config_fragment_sha256": "$FRAG_SHA", "config_sha256": h(out + "/src/.config"),
           "image_sha256": h(out + "/Image"), "compiler": "$(aarch64-linux-gnu-gcc --version | head -1)"},
          open(out + "/build.json", "w"), indent=1)
PY
echo "v3 build: $out/Image"
