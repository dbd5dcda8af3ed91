#!/bin/sh
# Make sure the browser tests have a Chromium: a system one if present, Debian's package when we are
# root with apt, else Playwright's own download. Prints the path it found; fails in one sentence.
set -u
PY=${1:-.venv/bin/python}
for c in "${S2VIZ_CHROMIUM:-}" "$(command -v chromium 2>/dev/null)" "$(command -v chromium-browser 2>/dev/null)"; do
  if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  if apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; then
    command -v chromium && exit 0
  fi
fi
if "$PY" -m playwright install chromium >/dev/null 2>&1; then
  echo "playwright's chromium"; exit 0
fi
echo "No Chromium for the browser tests: install Debian's chromium or run 'python -m playwright install chromium'." >&2
exit 1
