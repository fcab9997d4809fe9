#!/usr/bin/env bash
# Makes sure redis-server is installed: the test suite starts a throwaway Redis of its own to prove that
# rate-limit counters are shared between instances when REDIS_URL is set. The API itself never needs it.
#
# Usage: scripts/ensure-redis.sh   or   source scripts/ensure-redis.sh && ensure_redis

ensure_redis() {
    command -v redis-server >/dev/null 2>&1 && return 0
    [[ -x /usr/bin/redis-server ]] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "ensure-redis: redis-server not found and apt-get is not available; install Redis (6 or newer)." >&2
        return 1
    fi
    local -a sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
            echo "ensure-redis: redis-server is missing; installing it needs root (apt-get install -y redis-server)." >&2
            return 1
        fi
    fi
    echo "ensure-redis: redis-server not found; installing the 'redis-server' package with apt-get..." >&2
    "${sudo[@]}" apt-get update || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server || return 1
}

if [[ "${BASH_SOURCE[0]}" == "${0}" ]]; then
    set -euo pipefail
    ensure_redis
fi
