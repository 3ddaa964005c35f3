#!/usr/bin/env bash
# Makes Debian's Chromium available for the dashboard's browser test (Playwright drives it with
# executable_path=/usr/bin/chromium; no browser is downloaded). Installs it when missing and root.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "chromium missing: installing Debian's chromium and chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
    [ -x /usr/bin/chromium ] && exit 0
fi
echo "chromium not found and could not be installed; the browser test will skip" >&2
if [ "${CI:-}" = "true" ]; then
    echo "CI=true: the browser test must run, failing" >&2
    exit 1
fi
