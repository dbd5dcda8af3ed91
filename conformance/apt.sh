#!/usr/bin/env bash
# A private apt root: its own lists, status and cache, never the machine's /etc/apt.
#   apt.sh <root> <arch> <suite>...      sets the root up and runs `apt-get update` in it
#   apt.sh <root> <arch> -- <apt-get args...>   runs apt-get in it
set -euo pipefail
root=$1 arch=$2; shift 2
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
opts=(-o "Dir=$root" -o "Dir::State::status=$root/status" -o "Dir::Etc::sourcelist=$root/sources.list"
      -o "Dir::Etc::sourceparts=$root/sources.list.d" -o "Dir::Etc::main=/dev/null" -o "Dir::Etc::parts=$root/apt.conf.d"
      -o "Dir::Etc::preferences=/dev/null" -o "Dir::Etc::preferencesparts=$root/preferences.d" -o "Dir::Cache=$root/cache"
      -o "Dir::State=$root/state" -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
      -o "Acquire::Languages=none" -o "Debug::NoLocking=1" -o "APT::Get::AllowUnauthenticated=false")
if [ "${1:-}" = "--" ]; then
    shift
    exec apt-get "${opts[@]}" "$@"
fi
[ -r "$keyring" ] || { echo "conformance: $keyring missing: apt-get install debian-archive-keyring" >&2; exit 1; }
mkdir -p "$root/sources.list.d" "$root/apt.conf.d" "$root/preferences.d" "$root/state/lists/partial" "$root/cache/archives/partial"
touch "$root/status"
: > "$root/sources.list"
for suite in "$@"; do
    echo "deb [arch=$arch signed-by=$keyring] http://deb.debian.org/debian $suite main" >> "$root/sources.list"
done
apt-get "${opts[@]}" -q update
