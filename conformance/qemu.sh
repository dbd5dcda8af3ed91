#!/usr/bin/env bash
# Run the extracted QEMU 10 with its own modules: the installed QEMU's module directory is hidden
# behind a bind mount in a private mount namespace, so QEMU 10 never loads QEMU 7.2's modules.
#   qemu.sh <qemu-root> <timeout-seconds> <qemu args...>
set -euo pipefail
root=$1 secs=$2; shift 2
mods=/usr/lib/x86_64-linux-gnu/qemu
if [ -d "$mods" ] && [ -d "$root/usr/lib/x86_64-linux-gnu/qemu" ]; then
    exec unshare -m -- sh -c 'mount --bind "$1" "$2" && shift 2 && exec timeout "$@"' sh \
        "$root/usr/lib/x86_64-linux-gnu/qemu" "$mods" --kill-after=5 "$secs" "$root/usr/bin/qemu-system-aarch64" "$@"
fi
exec timeout --kill-after=5 "$secs" "$root/usr/bin/qemu-system-aarch64" "$@"
