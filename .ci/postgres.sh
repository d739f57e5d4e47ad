#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the storage conformance tests, and print its URL
# as the last line of stdout (everything else goes to stderr):
#
#   WA_POSTGRES_URL=$(.ci/postgres.sh | tail -1) WA_REQUIRE_POSTGRES=1 cargo test -p whatsapp-storage
#
# Installs Debian's `postgresql` package when the server programs are missing, keeps the
# data under target/pg, listens on 127.0.0.1 only (port $WA_PG_PORT, default 54329, or a
# free one when another server has that) and
# asks for a password over TCP. It serves TLS with a certificate for 127.0.0.1 from a CA
# made here (openssl, which the package brings), and the URL asks for
# `sslmode=verify-full` against that CA: every test on it runs over checked TLS. Running
# it again reuses the server if it runs, starts it if it stopped, and prints the same
# URL. For tests only: fsync is off.
set -euo pipefail

role=wa
db=wa_test
root="$(cd "$(dirname "$0")/.." && pwd)"
base="$root/target/pg"

say() { printf 'postgres.sh: %s\n' "$*" >&2; }

# The newest server installed: Debian keeps its programs in /usr/lib/postgresql/N/bin.
bindir() {
    local d found=""
    while read -r d; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then found="$d"; fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
    echo "$found"
}

bin="$(bindir)"
if [[ -z "$bin" ]]; then
    say "installing PostgreSQL from Debian's packages"
    sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    install=("${sudo[@]}" apt-get install -y -q --no-install-recommends postgresql)
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        "${sudo[@]}" apt-get update -q >&2
    fi
    if ! "${install[@]}" >&2; then
        # The package lists may be stale (a package moved to a newer version).
        "${sudo[@]}" apt-get update -q >&2
        "${install[@]}" >&2
    fi
    bin="$(bindir)"
    [[ -n "$bin" ]] || { say "the postgresql package installed no server programs"; exit 1; }
fi

# initdb refuses to run as root: as root, the server runs as the `postgres` user the
# package created, and owns its directory.
as=()
if [[ "$(id -u)" -eq 0 ]]; then
    as=(runuser -u postgres --)
fi
mkdir -p "$base"
if [[ "$(id -u)" -eq 0 ]]; then
    chown postgres:postgres "$base"
    if ! "${as[@]}" test -w "$base"; then
        # A checkout the postgres user cannot reach (under /root, say): keep the data in
        # the postgres user's home instead.
        base=/var/lib/postgresql/wa-test
        mkdir -p "$base"
        chown postgres:postgres "$base"
    fi
fi
# The port this cluster took before (54329 unless that was taken), unless WA_PG_PORT says.
port="${WA_PG_PORT:-$(cat "$base/port" 2>/dev/null || echo 54329)}"
data="$base/data"
sockets="$base/run"
log="$base/server.log"
password_file="$base/password"
"${as[@]}" mkdir -p "$sockets"

if [[ ! -s "$password_file" ]]; then
    # Hex only: nothing to quote in SQL or in the URL.
    (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$password_file")
fi
password="$(cat "$password_file")"

# A CA and the server's certificate, made once (P-256 keys). It names 127.0.0.1 only: the
# storage tests reach the server as `localhost` to see verify-full refuse the name.
tls="$base/tls"
if [[ ! -s "$tls/server.crt" ]]; then
    say "making a test CA and the server's certificate in $tls"
    mkdir -p "$tls"
    (
        cd "$tls"
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout ca.key -out ca.crt -days 3650 -subj "/CN=whatsapp-host test CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out server.crt -days 3650 -extfile server.ext 2>/dev/null
        chmod 644 ca.crt server.crt
    )
    if [[ "$(id -u)" -eq 0 ]]; then chown postgres:postgres "$tls/server.key" "$tls/server.crt"; fi
fi

if [[ ! -f "$data/PG_VERSION" ]]; then
    say "creating a cluster in $data"
    "${as[@]}" "$bin/initdb" -D "$data" -U postgres -E UTF8 --no-locale \
        --auth-local=trust --auth-host=scram-sha-256 >&2
fi

if "${as[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    say "reusing the server already running on $data"
else
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
        if [[ -n "${WA_PG_PORT:-}" ]]; then
            say "port $port is taken by another server: set WA_PG_PORT to a free one"
            exit 1
        fi
        # Another checkout's server has the default port: take a free one, and keep it.
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        say "port 54329 is taken by another server; using $port"
    fi
    echo "$port" >"$base/port"
    say "starting the server on 127.0.0.1:$port (log: $log)"
    # fsync off: a throwaway server for tests, made faster; nothing here survives a crash.
    "${as[@]}" "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $sockets -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key" \
        start >&2 || { tail -n 20 "$log" >&2 || true; exit 1; }
fi

for _ in $(seq 60); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then break; fi
    sleep 0.5
done
"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || { say "the server does not accept connections"; exit 1; }

# The role and its database, as the superuser over the Unix socket (trusted locally).
"${as[@]}" "$bin/psql" -h "$sockets" -p "$port" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 >&2 <<SQL
SELECT format('CREATE ROLE %I LOGIN', '$role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role')\gexec
ALTER ROLE $role WITH LOGIN PASSWORD '$password';
SELECT format('CREATE DATABASE %I OWNER %I', '$db', '$role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')\gexec
SQL

echo "postgres://$role:$password@127.0.0.1:$port/$db?sslmode=verify-full&sslrootcert=$tls/ca.crt"
