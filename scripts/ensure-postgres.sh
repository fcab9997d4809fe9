#!/usr/bin/env bash
# Makes sure the PostgreSQL server binaries (initdb, pg_ctl, postgres) are installed, because the API
# (when DATABASE_URL is unset) and the test suite start a PostgreSQL cluster of their own from
# /usr/lib/postgresql/<version>/bin. Installs Debian's `postgresql` package with apt-get when missing.
#
# Usage: scripts/ensure-postgres.sh            (run it)
#        source scripts/ensure-postgres.sh && ensure_postgres   (from another bash script)
#
# Set SKIP_POSTGRES_INSTALL=1 to never install (for machines where you manage PostgreSQL yourself).
# Note: the Debian package may create and start its own cluster ("15/main" on port 5432); this
# project never uses it (it runs its own clusters on free loopback ports), so it can be left alone.

postgres_binaries_present() {
    local initdb
    for initdb in /usr/lib/postgresql/*/bin/initdb; do
        [[ -x "$initdb" ]] && return 0
    done
    [[ -n "${PG_BIN:-}" && -x "${PG_BIN}/initdb" ]] && return 0
    return 1
}

ensure_postgres() {
    if postgres_binaries_present; then
        return 0
    fi
    if [[ -n "${SKIP_POSTGRES_INSTALL:-}" ]]; then
        echo "ensure-postgres: PostgreSQL server binaries are missing and SKIP_POSTGRES_INSTALL is set;" \
             "install them (apt-get install -y postgresql) or set DATABASE_URL." >&2
        return 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "ensure-postgres: PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin and apt-get" \
             "is not available. Install PostgreSQL (15 or newer) server binaries, set PG_BIN to their" \
             "bin directory, or set DATABASE_URL to an existing database." >&2
        return 1
    fi

    local -a sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "ensure-postgres: PostgreSQL server binaries are missing; installing them needs root" \
                 "(run as root, install sudo, or run: apt-get install -y postgresql)." >&2
            return 1
        fi
    fi

    echo "ensure-postgres: PostgreSQL server binaries not found; installing the 'postgresql' package with apt-get..." >&2
    "${sudo[@]}" apt-get update || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql || return 1

    if ! postgres_binaries_present; then
        echo "ensure-postgres: 'apt-get install postgresql' finished but /usr/lib/postgresql/*/bin/initdb" \
             "is still missing." >&2
        return 1
    fi
    echo "ensure-postgres: PostgreSQL installed. (The Debian-packaged cluster, if apt started one, is not used.)" >&2
}

# Run directly (not sourced): do the check now.
if [[ "${BASH_SOURCE[0]}" == "${0}" ]]; then
    set -euo pipefail
    ensure_postgres
fi
