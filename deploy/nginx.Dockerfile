# nginx from Debian's packages, configured by deploy/nginx.conf, run unprivileged.
#
#   docker build -f deploy/nginx.Dockerfile -t s2viz-nginx .
#
# BASE is the Debian bookworm image the app's Dockerfile uses (scripts/deploy-test.sh builds with
# the debootstrapped stand-in when no registry is reachable).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10002 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin s2viz-proxy
COPY deploy/nginx.conf /etc/nginx/nginx.conf
USER 10002:10002
EXPOSE 8080
CMD ["nginx", "-e", "stderr", "-g", "daemon off;"]
