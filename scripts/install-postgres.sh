#!/usr/bin/env bash
# Makes PostgreSQL's server binaries (initdb, pg_ctl, postgres) available for the test suite.
# On a clean Debian machine as root this installs the `postgresql` package; elsewhere it says
# what is missing, and the PostgreSQL tests skip with that reason (CI must not skip them).
set -euo pipefail

find_pg_bin() {
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"; return 0
    fi
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    done
    return 1
}

if find_pg_bin >/dev/null; then
    echo "postgres binaries: $(find_pg_bin)"
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "postgres binaries missing: installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
    find_pg_bin >/dev/null && { echo "postgres binaries: $(find_pg_bin)"; exit 0; }
fi
echo "postgres binaries not found and could not be installed; PostgreSQL tests will skip" >&2
if [ "${CI:-}" = "true" ]; then
    echo "CI=true: PostgreSQL tests must run, failing" >&2
    exit 1
fi
