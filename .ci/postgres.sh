#!/usr/bin/env bash
# A throw-away PostgreSQL for the test session, on a loopback port: `source .ci/postgres.sh; postgres_start`
# exports CRAWLER_TEST_POSTGRES_URL; `postgres_stop` stops it and removes its folder. Runs as root (CI):
# PostgreSQL refuses to run as root, so the server runs as the `postgres` user of Debian's package.

postgres_start() {
    if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    PG_TEST_DIR=$(mktemp -d /tmp/crawler-pg.XXXXXX)
    chown postgres: "$PG_TEST_DIR"
    local port=${PG_TEST_PORT:-55432}
    local password
    password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    # Local socket: trust (for this set-up only); TCP: password (scram), so wrong passwords are really refused.
    runuser -u postgres -- "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 >"$PG_TEST_DIR/initdb.log"
    runuser -u postgres -- "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -w -l "$PG_TEST_DIR/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TEST_DIR -c fsync=off -c max_connections=200" start \
        >/dev/null
    runuser -u postgres -- "$bin/psql" -q -h "$PG_TEST_DIR" -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE crawler LOGIN CREATEDB PASSWORD '$password'" \
        -c "CREATE DATABASE crawler OWNER crawler"
    PG_TEST_BIN=$bin
    export CRAWLER_TEST_POSTGRES_URL="postgresql://crawler:$password@127.0.0.1:$port/crawler"
    echo "ci: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

postgres_stop() {
    if [ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR/data" ]; then
        runuser -u postgres -- "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null || true
        rm -rf "$PG_TEST_DIR"
    fi
}
