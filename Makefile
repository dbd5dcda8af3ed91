# Two commands do all set-up on a fresh machine: `make run` and `make test`.
# `make run PORT=9000` (or HOST=...) serves elsewhere.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test bench bless lint clean assets dist deploy-test verify-sources conformance

# Browser libraries come from package-lock.json; static/vendor/ is generated.
ASSETS := static/vendor/htmx.min.js static/vendor/plotly.min.js

node_modules/.package-lock.json: package.json package-lock.json
	command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(ASSETS) &: node_modules/.package-lock.json scripts/build-assets.sh
	./scripts/build-assets.sh

static/dist/manifest.json: $(ASSETS) $(wildcard static/css/*.css static/js/*.js) static/favicon.svg app/web/serving/assets.py | $(VENV)/.app
	$(BIN)/python -m app.web.serving.assets

assets: static/dist/manifest.json

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.app static/dist/manifest.json
	$(BIN)/gunicorn -c gunicorn.conf.py --bind $(HOST):$(PORT) 'app:create_app()'

test: $(VENV)/.test static/dist/manifest.json
	./scripts/ensure-browser.sh $(BIN)/python
	$(BIN)/ruff check app tests bench scripts conformance
	$(BIN)/python -m pytest

# Fetches the Debian kernel sources each model's line table was read from (into a cache outside the
# repository) and checks every cited range. Not part of `make test`: it downloads ~650 MB.
verify-sources:
	$(PYTHON) scripts/verify_sources.py

# Boot Debian's arm64 kernels under QEMU with KVM inside and re-record app/data/conformance/ (minutes;
# run as root: it installs the cross compiler and QEMU with apt). Never part of `make test`.
conformance: $(VENV)/.app
	$(BIN)/python -m conformance.harness $(ARGS)

# Rewrites the golden files (decisions, steps, mail texts, the permalink corpus) from the current
# code and prints the diff it accepts: only for an intended change, and say what changed in the commit.
bless: $(VENV)/.test
	$(BIN)/python -m tests.goldens

bench: $(VENV)/.test static/dist/manifest.json
	$(BIN)/python -m bench

# A wheel that serves by itself (templates and built static files inside): pipx install dist/*.whl
dist: $(VENV)/.test static/dist/manifest.json
	rm -rf dist build
	$(BIN)/python -m build --outdir dist .

# The public deployment (deploy/: nginx in front of app replicas) built and tested with podman.
deploy-test:
	./scripts/deploy-test.sh

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis node_modules static/vendor static/dist dist build
