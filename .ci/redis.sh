#!/usr/bin/env bash
# Start a throwaway Redis server for the broker sink's tests, and print its URL as the
# last line of stdout (everything else goes to stderr):
#
#   WA_REDIS_URL=$(.ci/redis.sh | tail -1) cargo test -p whatsapp-host --test broker
#
# Installs Debian's `redis-server` package when it is missing, listens on 127.0.0.1 only
# (port $WA_REDIS_PORT, default 63790, or a free one when that is taken), asks for a
# password, keeps nothing on disk. Running it again reuses the server if it answers.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
base="$root/target/redis"
say() { printf 'redis.sh: %s\n' "$*" >&2; }

if ! command -v redis-server >/dev/null; then
    say "installing Redis from Debian's packages"
    sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        "${sudo[@]}" apt-get update -q >&2
    fi
    "${sudo[@]}" apt-get install -y -q --no-install-recommends redis-server >&2 || {
        "${sudo[@]}" apt-get update -q >&2
        "${sudo[@]}" apt-get install -y -q --no-install-recommends redis-server >&2
    }
fi

mkdir -p "$base"
if [[ ! -s "$base/password" ]]; then
    (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$base/password")
fi
password="$(cat "$base/password")"
port="${WA_REDIS_PORT:-$(cat "$base/port" 2>/dev/null || echo 63790)}"

answers() { redis-cli -h 127.0.0.1 -p "$1" --no-auth-warning -a "$password" ping 2>/dev/null | grep -q PONG; }

if answers "$port"; then
    say "reusing the server on 127.0.0.1:$port"
else
    if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        say "another server has the port; using $port"
    fi
    echo "$port" >"$base/port"
    say "starting redis-server on 127.0.0.1:$port"
    redis-server --bind 127.0.0.1 --port "$port" --requirepass "$password" \
        --save '' --appendonly no --daemonize yes --dir "$base" --logfile "$base/server.log" >&2
    for _ in $(seq 50); do answers "$port" && break; sleep 0.1; done
    answers "$port" || { say "the server does not answer"; tail -n 20 "$base/server.log" >&2 || true; exit 1; }
fi

echo "redis://:$password@127.0.0.1:$port/0"
