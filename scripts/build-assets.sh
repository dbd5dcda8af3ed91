#!/bin/sh
# Copy the browser libraries installed from package-lock.json (npm ci) into static/vendor/.
# static/vendor/ is generated, never committed.
set -eu
cd "$(dirname "$0")/.."
mkdir -p static/vendor
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
cp node_modules/plotly.js-cartesian-dist-min/plotly-cartesian.min.js static/vendor/plotly.min.js
