#!/usr/bin/env bash
# Makes nginx available for the test that puts the shipped deploy/nginx/hotline.conf in front of
# `hotline serve` (slow clients hold no worker). Installs Debian's nginx-light when missing and root.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    echo "nginx: $( (nginx -v || /usr/sbin/nginx -v) 2>&1 )"
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "nginx missing: installing Debian's nginx-light"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
    # the package starts a server on port 80 for the machine: the tests start their own
    (service nginx stop || /usr/sbin/nginx -s stop || true) >/dev/null 2>&1
    [ -x /usr/sbin/nginx ] && exit 0
fi
echo "nginx not found and could not be installed; the reverse-proxy test will skip" >&2
if [ "${CI:-}" = "true" ]; then
    echo "CI=true: the reverse-proxy test must run, failing" >&2
    exit 1
fi
