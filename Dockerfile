# s2viz: the Flask app and its simulator, served by gunicorn.
#
#   docker build -t s2viz .
#   docker run --rm --read-only --cap-drop ALL --security-opt no-new-privileges -p 127.0.0.1:8000:8000 s2viz
#
# Public deployments go behind deploy/ (nginx in front of replicas of this image).
#
# BASE is any Debian bookworm image; scripts/container-smoke.sh builds with a debootstrapped
# bookworm (localhost/bookworm-py:local, made by scripts/container-base.sh) when no registry is
# reachable. Network is needed while building (apt, npm, PyPI), never at run time.
ARG BASE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
# assets: the browser libraries from package-lock.json, and the tree the app is served from.
FROM ${BASE} AS assets
# Debian's own nodejs/npm; versions follow the bookworm archive (security updates included).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY . .
# templates/ and static/ are created if the checkout has none yet (git keeps no empty folders).
RUN mkdir -p templates static /srv/s2viz \
 && sh scripts/build-assets.sh \
 && cp -r app templates static gunicorn.conf.py /srv/s2viz/ \
 && mkdir -p /srv/s2viz/tests && cp -r tests/conformance /srv/s2viz/tests/

# ---------------------------------------------------------------------------------------------
# python: a virtualenv holding the dependencies pinned in pyproject.toml. The project itself is
# not installed: app/web/serving/site.py finds templates/ and static/ next to the app/ package, so the
# app runs from /srv/s2viz (PYTHONPATH) with both folders beside it.
FROM ${BASE} AS python
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml /tmp/pyproject.toml
RUN python3 -c "import tomllib; print(*tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > /tmp/requirements.txt \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt \
 && /opt/venv/bin/pip uninstall -y -q pip setuptools
COPY --from=assets /srv/s2viz /srv/s2viz
WORKDIR /srv/s2viz
# Fingerprinted, precompressed copies of the static files (static/dist/, as `make assets` does);
# then bytecode, compiled now because the running container cannot write it.
RUN /opt/venv/bin/python -m app.web.serving.assets \
 && /opt/venv/bin/python -m compileall -q -f --invalidation-mode unchecked-hash app

# ---------------------------------------------------------------------------------------------
# runtime: python3 and the two trees above, run as an unprivileged user. Works with a read-only
# root filesystem (gunicorn.conf.py keeps gunicorn's scratch files in /dev/shm).
FROM ${BASE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin s2viz
COPY --from=python /opt/venv /opt/venv
COPY --from=python /srv/s2viz /srv/s2viz
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/srv/s2viz \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8000
WORKDIR /srv/s2viz
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
CMD ["gunicorn", "--config", "/srv/s2viz/gunicorn.conf.py", "app:create_app()"]
