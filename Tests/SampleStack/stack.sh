#!/usr/bin/env bash
# Start / stop the sample chat stack (PostgreSQL + Flask backend) with one fault on.
#
#   stack.sh up SCENARIO [--dir DIR]   start the stack, write DIR/preflight.yml,
#                                      print its path on the last stdout line
#   stack.sh down [--dir DIR]          stop exactly what `up` started (idempotent)
#   stack.sh list                      print the scenario names
#
# DIR defaults to Tests/SampleStack/.run (gitignored). Every PID started is
# recorded in DIR/pids; the PostgreSQL cluster lives in a temporary directory
# recorded in DIR/pgdir. Logs: DIR/backend.log, DIR/blackhole.log, DIR/pg/server.log.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PG_CLUSTER="$REPO/Tests/Fixtures/pg-cluster.sh"
PY=/usr/bin/python3            # Debian's python3 (python3-flask, -flask-limiter, -psycopg2)

SCENARIOS="healthy backend-down wrong-port ipv6-only db-down bad-password pools-oversubscribed
rate-limited schema-renamed migration-not-deployed migration-not-deployed-django cursor-bug health-degraded blackhole fd-limit read-only-db
https-self-signed proxy-upstream-down pool-too-small arrival-short server-fd-limit grpc-method-missing"

APP_ROLE=chat
APP_PASSWORD=chat-secret
APP_DB=chat_backend_db
CONVERSATION=8822dd87-d0c2-42be-93d2-1c0cb492e351
LOADTEST_USER=00000000-0000-0000-0000-000000000000

usage() { sed -n '2,11p' "$0" >&2; exit 2; }
say() { echo "stack.sh: $*" >&2; }

free_port() { "$PG_CLUSTER" free-port; }
port_is_free() {  # port_is_free PORT: nothing bound to it on 127.0.0.1
  "$PY" -c 'import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()' "$1" 2>/dev/null
}

# ------------------------------------------------------------------------- down
# alive PID: running and not a zombie (our children are reparented once up exits,
# and a zombie answers kill -0 until its new parent reaps it)
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stack_down() {
  local dir=$1 pid name cmd i
  if [ -f "$dir/pids" ]; then
    while read -r pid name; do
      [ -n "$pid" ] || continue
      # Only signal the PID if it is still the process we started (no PID reuse).
      cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)
      case "$cmd" in
        *"$name"*) kill -TERM "$pid" 2>/dev/null || true ;;
        *) continue ;;
      esac
      for i in $(seq 1 40); do
        alive "$pid" || break
        sleep 0.05
      done
      alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    done <"$dir/pids"
    rm -f "$dir/pids"
  fi
  if [ -f "$dir/pgdir" ]; then
    local pgdir; pgdir=$(cat "$dir/pgdir")
    if [ -n "$pgdir" ] && [ -d "$pgdir" ]; then
      "$PG_CLUSTER" stop "$pgdir/c" || true
      rm -rf "$pgdir"
    fi
    rm -f "$dir/pgdir" "$dir/pg"
  fi
  rm -rf "$dir/nginx" "$dir/tls"       # proxy-upstream-down's nginx prefix, https-self-signed's certificate
  rm -f "$dir/scenario"
}

# --------------------------------------------------------------------- helpers
FAILED_DIR=
die() {
  say "ERROR: $*"
  if [ -n "$FAILED_DIR" ]; then stack_down "$FAILED_DIR"; fi
  exit 1
}

# wait_http URL EXPECTED_CODE PID LOG: poll until URL answers with EXPECTED_CODE
wait_http() {
  local url=$1 want=$2 pid=$3 log=$4 code=000 i
  for i in $(seq 1 100); do
    alive "$pid" || { cat "$log" >&2 || true; die "backend (pid $pid) exited; log above"; }
    code=$(curl -sk -o /dev/null -m 2 -w '%{http_code}' "$url" || true)
    [ "$code" = "$want" ] && return 0
    sleep 0.05
  done
  cat "$log" >&2 || true
  die "$url answered HTTP $code, expected $want (after 5 s)"
}

wait_tcp() {  # wait_tcp PORT PID
  local port=$1 pid=$2 i
  for i in $(seq 1 100); do
    alive "$pid" || die "blackhole listener (pid $pid) exited"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  die "nothing accepts on 127.0.0.1:$port"
}

psql_admin() {  # psql_admin DB ARGS... (superuser over the cluster's Unix socket)
  local db=$1; shift
  psql -h "$PGHOST" -p "$PGPORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 -q -X "$@"
}

# ------------------------------------------------------------ preflight.yml
# Keys the preflight tool understands today. The generator below knows more
# (database.pools, rate_limit, schema, load): those are written into a comment
# block at the end of the file. When the tool learns a key, add its name here
# (all: target timeout health database.url database.pools rate_limit schema load).
# STACK_LIVE_KEYS overrides it, to try a check before it is the default.
LIVE_KEYS=${STACK_LIVE_KEYS:-"target timeout health database.url database.pools rate_limit schema load"}

is_live() { case " $LIVE_KEYS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# Per-scenario values (set in stack_up):
CFG_TARGET= CFG_TIMEOUT=3s CFG_HEALTH_PATH=/health CFG_HEALTH_UPSTREAM= CFG_DB_URL=
CFG_POOLS=()          # "name size replicas url" per entry
CFG_RATE_REQUEST= CFG_RATE_BODY= CFG_RATE_BURST=
CFG_PRISMA= CFG_MIGRATIONS= CFG_LOAD_SCRIPT= CFG_LOAD_BASE= CFG_LOAD_VUS= CFG_LOAD_REQUEST= CFG_LOAD_EVENTS=
CFG_NOTES=()          # comment lines at the top: what is wrong with this stack

emit_pools() {  # body of database.pools, indented for "database:"
  local entry name size replicas url
  echo "  pools:"
  for entry in "${CFG_POOLS[@]}"; do
    read -r name size replicas url <<<"$entry"
    echo "    - name: $name"
    echo "      size: $size"
    echo "      replicas: $replicas"
    echo "      url: $url"
  done
}
emit_rate_limit() {
  echo "rate_limit:"
  echo "  request: \"$CFG_RATE_REQUEST\""
  echo "  body: '$CFG_RATE_BODY'"
  echo "  headers:"
  echo "    Content-Type: application/json"
  echo "  burst: $CFG_RATE_BURST"
}
emit_schema() {
  echo "schema:"
  echo "  prisma: $CFG_PRISMA"
}
emit_load() {
  echo "load:"
  echo "  script: $CFG_LOAD_SCRIPT"
  echo "  env:"
  echo "    CHAT_BASE_URL: $CFG_LOAD_BASE"
  [ -z "$CFG_LOAD_EVENTS" ] || echo "    EVENTS_ADDR: $CFG_LOAD_EVENTS"
  [ -z "$CFG_LOAD_VUS" ] || echo "  vus: $CFG_LOAD_VUS"
  [ -z "$CFG_LOAD_REQUEST" ] || echo "  request: \"$CFG_LOAD_REQUEST\""
}

write_config() {  # write_config FILE SCENARIO
  local file=$1 scenario=$2 line
  {
    echo "# preflight.yml for the sample chat stack, scenario \"$scenario\""
    echo "# generated by Tests/SampleStack/stack.sh; stop the stack with: stack.sh down --dir $(dirname "$file")"
    for line in "${CFG_NOTES[@]}"; do echo "# $line"; done
    echo
    is_live target && echo "target: $CFG_TARGET"
    is_live timeout && echo "timeout: $CFG_TIMEOUT"
    if is_live health; then
      echo "health:"; echo "  path: $CFG_HEALTH_PATH"
      [ -n "$CFG_HEALTH_UPSTREAM" ] && echo "  upstream: $CFG_HEALTH_UPSTREAM"
    fi
    if is_live database.url || is_live database.pools; then
      echo "database:"
      is_live database.url && echo "  url: $CFG_DB_URL"
      is_live database.pools && emit_pools
    fi
    is_live rate_limit && emit_rate_limit
    is_live schema && emit_schema
    is_live schema && [ -n "$CFG_MIGRATIONS" ] && { echo "migrations:"; echo "  path: $CFG_MIGRATIONS"; }
    is_live load && emit_load
    is_live database.pools && is_live rate_limit && is_live schema && is_live load && return 0
    echo
    echo "# ---- not understood by preflight yet (later issues); what this scenario will need:"
    {
      is_live database.pools || { echo "database:"; emit_pools; }
      is_live rate_limit || emit_rate_limit
      is_live schema || emit_schema
      is_live load || emit_load
    } | sed 's/^/# /'
  } >"$file"
}

# --------------------------------------------------------------------------- up
stack_up() {
  local scenario=$1 dir=$2
  case " $(echo $SCENARIOS) " in *" $scenario "*) ;; *) say "unknown scenario '$scenario' (one of: $(echo $SCENARIOS))"; exit 2 ;; esac
  command -v curl >/dev/null || { say "curl is required"; exit 1; }

  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  stack_down "$dir"                   # idempotent: replace whatever ran there
  rm -f "$dir"/*.log "$dir/preflight.yml" "$dir/env"
  FAILED_DIR=$dir
  echo "$scenario" >"$dir/scenario"
  : >"$dir/pids"

  local db_url="" backend_port="" target_port="" host=127.0.0.1 maxconn=100 pid
  local pool_size=10 health_code=200 scheme=http
  local -a app_env=(DISABLE_RATE_LIMIT=true RATE_LIMIT="200 per 15 minutes")
  local -a launch=()   # what starts the backend (prlimit for server-fd-limit)
  # A caller may shorten the app's pool wait (the watcher's tests do); a scenario's own value comes later and wins.
  [ -n "${DATABASE_POOL_TIMEOUT:-}" ] && app_env+=(DATABASE_POOL_TIMEOUT="$DATABASE_POOL_TIMEOUT")
  if [ "$scenario" = pool-too-small ]; then
    # A pool that fits the server but not the traffic: 2 connections, each request holds one 100 ms longer,
    # and a request waits at most 1 s for one (Prisma's P2024 after pool_timeout).
    pool_size=2
    app_env+=(DATABASE_POOL_TIMEOUT=1 DATABASE_DELAY_MS=100)
  fi

  # ---- PostgreSQL (every scenario but blackhole)
  if [ "$scenario" != blackhole ]; then
    [ "$scenario" = pools-oversubscribed ] && maxconn=20
    local pgdir; pgdir=$(mktemp -d "${TMPDIR:-/tmp}/preflight-stack-pg.XXXXXX")
    chmod 755 "$pgdir"                # the postgres user must traverse it
    echo "$pgdir" >"$dir/pgdir"
    ln -sfn "$pgdir/c" "$dir/pg"
    "$PG_CLUSTER" start "$pgdir/c" --max-connections "$maxconn" >"$dir/pg-start.log" 2>&1 \
      || { cat "$dir/pg-start.log" >&2; die "PostgreSQL did not start"; }
    # shellcheck disable=SC1091
    . "$pgdir/c/env"
    psql_admin postgres -c "CREATE ROLE $APP_ROLE LOGIN PASSWORD '$APP_PASSWORD'" \
                        -c "CREATE DATABASE $APP_DB OWNER $APP_ROLE" >/dev/null \
      || die "could not create role/database"
    psql -h "$PGHOST" -p "$PGPORT" -U "$APP_ROLE" -d "$APP_DB" -v ON_ERROR_STOP=1 -q -X \
      -f "$HERE/schema.sql" >/dev/null || die "could not apply schema.sql"
    db_url="postgresql://$APP_ROLE:$APP_PASSWORD@127.0.0.1:$PGPORT/$APP_DB"
    {
      echo "PGHOST=$PGHOST"; echo "PGPORT=$PGPORT"; echo "DATABASE_URL=$db_url"
      echo "PSQL=\"psql -h $PGHOST -p $PGPORT -U $APP_ROLE -d $APP_DB\""
    } >"$dir/env"
  fi

  # ---- scenario-specific setup before the backend starts
  case $scenario in
    bad-password) db_url="postgresql://$APP_ROLE:not-the-password@127.0.0.1:$PGPORT/$APP_DB" ;;
    rate-limited) app_env=(RATE_LIMIT="20 per minute") ;;
    health-degraded) app_env+=(HEALTH_DEGRADED=cache) ;;
    ipv6-only) host=::1 ;;
    schema-renamed)
      psql_admin "$APP_DB" -c "ALTER TABLE messages RENAME COLUMN type TO message_type" >/dev/null \
        || die "could not rename messages.type" ;;
    migration-not-deployed)
      # The service runs the release that writes messages.edited_at (every POST answers 500 without the column).
      app_env+=(MESSAGES_EDITED_AT=1)
      # The project in DIR/prisma: schema.prisma with Message.editedAt, and two Prisma migrations. The first
      # (schema.sql) is recorded in _prisma_migrations as migrate deploy records it (Prisma's DDL, the file's
      # SHA-256); the second, which adds messages.edited_at, was committed but never deployed.
      local m="$dir/prisma/migrations" init=20260101000000_init
      rm -rf "$dir/prisma"; mkdir -p "$m/$init" "$m/20260301000000_message_edited_at"
      sed 's/^  createdAt      DateTime      @default(now()) @map("created_at")$/&\n  editedAt       DateTime?     @map("edited_at")/' \
        "$HERE/prisma/schema.prisma" >"$dir/prisma/schema.prisma"
      printf 'provider = "postgresql"\n' >"$m/migration_lock.toml"
      cp "$HERE/schema.sql" "$m/$init/migration.sql"
      printf -- '-- AlterTable\nALTER TABLE "messages" ADD COLUMN     "edited_at" TIMESTAMP(3);\n' \
        >"$m/20260301000000_message_edited_at/migration.sql"
      psql -h "$PGHOST" -p "$PGPORT" -U "$APP_ROLE" -d "$APP_DB" -v ON_ERROR_STOP=1 -q -X -c "CREATE TABLE _prisma_migrations (
          id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ,
          migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,
          started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)" \
        -c "INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at, applied_steps_count)
            VALUES (gen_random_uuid()::text, '$(sha256sum "$m/$init/migration.sql" | cut -c1-64)', '$init', now(), 1)" \
        >/dev/null || die "could not record the init migration" ;;
    migration-not-deployed-django)
      # The same release (it writes messages.edited_at), from a Django project in DIR/django: the app chat maps
      # Message to the messages table schema.sql made. Real Django records 0001_initial (migrate --fake: the table
      # is there); 0002_message_edited_at, which adds edited_at, was committed but never deployed.
      app_env+=(MESSAGES_EDITED_AT=1)
      "$PY" -c 'import django, psycopg2' 2>/dev/null || die "migration-not-deployed-django needs django and psycopg2 for $PY (scripts/install-deps.sh)"
      local d="$dir/django"
      rm -rf "$d"; mkdir -p "$d/chat/migrations"
      printf '%s\n' 'import os, sys' 'if __name__ == "__main__":' '    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_settings")' \
        '    from django.core.management import execute_from_command_line' '    execute_from_command_line(sys.argv)' >"$d/manage.py"
      printf '%s\n' 'import os' 'from urllib.parse import urlsplit, unquote' 'u = urlsplit(os.environ["DATABASE_URL"])' \
        'SECRET_KEY = "sample"' 'USE_TZ = True' 'INSTALLED_APPS = ["chat"]' \
        'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": u.path[1:], "USER": unquote(u.username),' \
        '                         "PASSWORD": unquote(u.password), "HOST": u.hostname, "PORT": u.port}}' >"$d/site_settings.py"
      : >"$d/chat/__init__.py"; : >"$d/chat/migrations/__init__.py"
      printf '%s\n' 'from django.db import migrations, models' '' '' 'class Migration(migrations.Migration):' '    initial = True' \
        '    dependencies = []' '    operations = [' '        migrations.CreateModel(' "            name='Message'," \
        "            fields=[('id', models.TextField(primary_key=True, serialize=False)), ('content', models.TextField())]," \
        "            options={'db_table': 'messages'}," '        ),' '    ]' >"$d/chat/migrations/0001_initial.py"
      printf '%s\n' 'from django.db import migrations, models' '' '' 'class Migration(migrations.Migration):' \
        "    dependencies = [('chat', '0001_initial')]" '    operations = [' \
        "        migrations.AddField(model_name='message', name='edited_at', field=models.DateTimeField(null=True))," '    ]' \
        >"$d/chat/migrations/0002_message_edited_at.py"
      (cd "$d" && DATABASE_URL="$db_url" PYTHONDONTWRITEBYTECODE=1 "$PY" manage.py migrate chat 0001 --fake >/dev/null) \
        || die "Django could not record chat.0001_initial (manage.py migrate chat 0001 --fake)" ;;
    https-self-signed)
      # The healthy backend serving https with a self-signed certificate (grafana/k6 #218: k6 refuses it).
      mkdir -p "$dir/tls"
      openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/tls/key.pem" -out "$dir/tls/cert.pem" -days 30 \
        -subj "/CN=chat-backend.local" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1 \
        || die "openssl could not make the self-signed certificate"
      app_env+=(TLS_CERT="$dir/tls/cert.pem" TLS_KEY="$dir/tls/key.pem")
      scheme=https ;;
    read-only-db)
      psql_admin postgres -c "ALTER ROLE $APP_ROLE SET default_transaction_read_only = on" >/dev/null \
        || die "could not make $APP_ROLE read-only" ;;
    server-fd-limit)
      # The backend may open 64 files (prlimit execs it: same pid), fewer than the 150 VUs' connections.
      launch=(prlimit --nofile=64) ;;
  esac
  [ "$scenario" = bad-password ] && health_code=503

  # ---- backend
  if [ "$scenario" != backend-down ] && [ "$scenario" != blackhole ] && [ "$scenario" != proxy-upstream-down ]; then
    backend_port=$(free_port)
    env -u DISABLE_RATE_LIMIT -u RATE_LIMIT -u HEALTH_DEGRADED -u DATABASE_POOL_SIZE -u DATABASE_POOL_TIMEOUT -u DATABASE_DELAY_MS -u MESSAGES_EDITED_AT -u TLS_CERT -u TLS_KEY \
      DATABASE_URL="$db_url" DATABASE_POOL_SIZE="$pool_size" HOST="$host" PORT="$backend_port" \
      "${app_env[@]}" PYTHONUNBUFFERED=1 \
      "${launch[@]}" "$PY" "$HERE/app.py" >"$dir/backend.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid app.py" >>"$dir/pids"
    local url_host=$host; [ "$host" = ::1 ] && url_host="[::1]"
    wait_http "$scheme://$url_host:$backend_port/api/v1/health" "$health_code" "$pid" "$dir/backend.log"
    echo "DATABASE_URL=$db_url" >>"$dir/env"
    echo "BACKEND_URL=$scheme://$url_host:$backend_port/api/v1" >>"$dir/env"
  fi
  target_port=$backend_port

  case $scenario in
    backend-down) target_port=$(free_port) ;;
    wrong-port)
      # Off by one like the seed (k6 default 3000, backend on 3001): the port just
      # below the backend's if it is free, else any other free port.
      target_port=$((backend_port - 1))
      if ! port_is_free "$target_port"; then
        target_port=$(free_port)
        while [ "$target_port" = "$backend_port" ]; do target_port=$(free_port); done
      fi ;;
    db-down)
      "$PG_CLUSTER" stop "$(cat "$dir/pgdir")/c"
      wait_http "http://127.0.0.1:$backend_port/api/v1/health" 503 "$pid" "$dir/backend.log" ;;
    proxy-upstream-down)
      # A real nginx whose proxy_pass names the backend's port, where nothing runs (the backend crashed).
      local dead; dead=$(free_port)
      local ngx_out; ngx_out=$("$REPO/Tests/Fixtures/nginx-proxy.sh" start "$dir/nginx" proxy "127.0.0.1:$dead" 2>"$dir/nginx-start.log") \
        || { cat "$dir/nginx-start.log" >&2; die "nginx did not start"; }
      echo "$(echo "$ngx_out" | sed -n 's/^PID=//p') nginx" >>"$dir/pids"
      target_port=$(echo "$ngx_out" | sed -n 's/^PORT=//p')
      CFG_HEALTH_UPSTREAM="http://127.0.0.1:$dead/api/v1/health" ;;
    grpc-method-missing)
      # The seed's fourth system: the gRPC event handler runs the previous release (no SendEvent), which the
      # load script calls once an iteration.
      "$PY" -c 'import grpc, grpc_health, grpc_reflection, grpc_tools' 2>/dev/null \
        || die "grpc-method-missing needs grpcio, grpcio-health-checking, grpcio-reflection, grpcio-tools for $PY (scripts/install-deps.sh)"
      "$PY" "$HERE/events.py" 0 --previous-release >"$dir/events.log" 2>&1 </dev/null &
      local events_pid=$! events_port="" i
      echo "$events_pid events.py" >>"$dir/pids"
      for i in $(seq 1 100); do
        events_port=$(sed -n 's/^PORT //p' "$dir/events.log" 2>/dev/null)
        [ -n "$events_port" ] && break
        alive "$events_pid" || { cat "$dir/events.log" >&2; die "events.py did not start"; }
        sleep 0.1
      done
      [ -n "$events_port" ] || die "events.py did not listen within 10 s"
      CFG_LOAD_EVENTS="127.0.0.1:$events_port" ;;
    blackhole)
      local bh_http bh_pg
      bh_http=$(free_port); bh_pg=$(free_port)
      while [ "$bh_pg" = "$bh_http" ]; do bh_pg=$(free_port); done
      "$PY" "$HERE/blackhole.py" "$bh_http" "$bh_pg" >"$dir/blackhole.log" 2>&1 </dev/null &
      pid=$!
      echo "$pid blackhole.py" >>"$dir/pids"
      wait_tcp "$bh_http" "$pid"; wait_tcp "$bh_pg" "$pid"
      target_port=$bh_http
      db_url="postgresql://$APP_ROLE:$APP_PASSWORD@127.0.0.1:$bh_pg/$APP_DB"
      CFG_TIMEOUT=1s ;;
  esac

  # ---- preflight.yml
  CFG_TARGET="$scheme://127.0.0.1:$target_port/api/v1"
  # Prisma's own template, as the service's .env has it: the URL carries the driver's parameters.
  CFG_DB_URL="$db_url?schema=public&connection_limit=$pool_size"
  CFG_POOLS=("chat-backend $pool_size 1 $db_url")
  CFG_RATE_REQUEST="POST /chat/conversations/$CONVERSATION/messages"
  CFG_RATE_BODY="{\"userId\":\"$LOADTEST_USER\",\"content\":\"preflight rate-limit probe\"}"
  CFG_RATE_BURST=50
  CFG_PRISMA="$HERE/prisma/schema.prisma"
  CFG_LOAD_SCRIPT="$HERE/k6/chat.js"
  CFG_LOAD_BASE="$CFG_TARGET/chat"
  CFG_LOAD_VUS=20
  case $scenario in
    healthy) CFG_NOTES=("Everything is ready: expect verdict go.") ;;
    backend-down) CFG_NOTES=("The backend is not running (seed 002: 56,250 requests, all ECONNREFUSED)."
                             "Expect: port fails (connection refused), health blocked.") ;;
    wrong-port) CFG_NOTES=("The backend listens on 127.0.0.1:$backend_port, this config targets port $target_port"
                           "(seed 002: k6 default URL port 3000 vs backend on 3001). Expect: port fails.") ;;
    ipv6-only) CFG_NOTES=("The backend listens on [::1]:$backend_port only; the target is 127.0.0.1:$target_port."
                          "Expect: port fails (refused on IPv4).") ;;
    db-down) CFG_NOTES=("The backend runs but PostgreSQL was stopped after it started."
                        "Expect: database fails (connection refused), health 503 / blocked.") ;;
    bad-password) CFG_NOTES=("DATABASE_URL (backend and this config) has a wrong password."
                             "Expect: database fails (password authentication failed), health 503.") ;;
    pools-oversubscribed)
      CFG_POOLS+=("notification-worker $pool_size 1 $db_url")
      CFG_NOTES=("PostgreSQL max_connections=20 (3 reserved for superusers); two services with pools of"
                 "$pool_size each (seed 004: 2 x 50 vs 100). The second service (notification-worker) is only"
                 "described in the config, it does not run. Expect: the pool check fails (pools need 20, the server allows 17).") ;;
    rate-limited) CFG_NOTES=("DISABLE_RATE_LIMIT is not set; messaging limit \"20 per minute\" (seed 001 phase 3)."
                             "Expect: the rate-limit check fails after ~20 of the $CFG_RATE_BURST burst requests.") ;;
    schema-renamed) CFG_NOTES=("messages.type was renamed to message_type after seeding; Prisma's Message.type"
                               "(and the app's SQL) no longer match: POST/GET messages answer 500 (seed 001 phase 4)."
                               "Expect: the schema check fails (health stays 200: it only runs SELECT 1).") ;;
    migration-not-deployed)
      CFG_PRISMA="$dir/prisma/schema.prisma"
      CFG_NOTES=("prisma/migrations/20260301000000_message_edited_at (adds messages.edited_at, which schema.prisma"
                 "has) was committed but never deployed. Expect: the migrations check fails, naming it; the schema"
                 "check's missing column is its consequence.") ;;
    migration-not-deployed-django)
      CFG_MIGRATIONS="$dir/django"
      CFG_NOTES=("django/chat/migrations/0002_message_edited_at (adds edited_at to Message, db_table messages) was committed"
                 "but never deployed; real Django recorded 0001_initial only. The service writes messages.edited_at: every"
                 "POST answers 500. Expect: the migrations check fails, naming it (run python manage.py migrate).") ;;
    cursor-bug)
      CFG_LOAD_SCRIPT="$HERE/k6/chat-cursor-bug.js"
      CFG_NOTES=("The load script sends cursor=\${Date.now()} on half the history requests (seeds 000/003):"
                 "the backend answers 400 invalid cursor. Expect: the script check fails, and the API confirms it.") ;;
    health-degraded) CFG_NOTES=("HEALTH_DEGRADED=cache: health answers 200 with status \"degraded\" and cache down."
                                "Expect: health fails (or warns) although HTTP status is 2xx.") ;;
    fd-limit)
      CFG_LOAD_VUS=2000
      CFG_NOTES=("The healthy stack, with load.vus 2000: under the default ulimit -n 1024 (run-scenarios.sh sets it)"
                 "k6 would fail with \"socket: too many open files\" (grafana/k6#2006). Expect: the generator check fails.") ;;
    grpc-method-missing)
      CFG_LOAD_SCRIPT="$HERE/k6/chat-grpc.js"
      CFG_LOAD_VUS=
      CFG_NOTES=("The healthy stack, with the gRPC event handler (events.py) running its previous release: no"
                 "events.Events/SendEvent, which k6/chat-grpc.js calls once an iteration (seed 004's gRPC events)."
                 "Every call answers UNIMPLEMENTED; k6 counts them in checks, not http_req_failed. Expect: grpc fails.") ;;
    arrival-short)
      CFG_LOAD_SCRIPT="$HERE/k6/chat-arrival.js"
      CFG_LOAD_VUS=
      CFG_NOTES=("The healthy stack, with k6/chat-arrival.js: a constant-arrival-rate of 20 iterations/s, each sleeping 1 s,"
                 "with maxVUs 5 (20 needed). Expect: the generator check fails, ~15 iterations/s dropped; k6 run drops them.") ;;
    server-fd-limit)
      CFG_LOAD_VUS=150
      CFG_NOTES=("The healthy backend started under prlimit --nofile=64, with load.vus 150: each VU holds one connection,"
                 "accept() fails with EMFILE past ~50 (strongloop/loopback#1836). Expect: the server check fails.") ;;
    pool-too-small)
      CFG_DB_URL="$db_url?schema=public&connection_limit=$pool_size&pool_timeout=1"
      CFG_POOLS=("chat-backend $pool_size 1 $db_url?connection_limit=$pool_size&pool_timeout=1")
      CFG_LOAD_VUS=120
      CFG_LOAD_REQUEST="GET /chat/conversations/$CONVERSATION/messages?userId=$LOADTEST_USER&limit=20"
      CFG_NOTES=("The backend's pool has 2 connections, each chat request holds one 100 ms longer (DATABASE_DELAY_MS),"
                 "and a request waits at most 1 s for a connection (pool_timeout=1). The arithmetic passes (2 of 97);"
                 "120 VUs do not fit the pool. Expect: pool-traffic fails (the ramp finds it), pool passes.") ;;
    read-only-db) CFG_NOTES=("ALTER ROLE $APP_ROLE SET default_transaction_read_only = on: the backend logs in and reads (health"
                             "stays 200), every INSERT fails with \"cannot execute INSERT in a read-only transaction\"."
                             "Expect: the database check fails, naming the setting and ALTER ROLE $APP_ROLE RESET.") ;;
    https-self-signed) CFG_NOTES=("The healthy backend, served over https with a self-signed certificate (CN chat-backend.local)."
                                  "k6 refuses it (x509: certificate signed by unknown authority). Expect: health fails, naming"
                                  "the self-signed issuer; with insecureSkipTLSVerify: true in the script it would warn.") ;;
    proxy-upstream-down) CFG_NOTES=("nginx listens on the target port and proxies to the backend's port, where nothing runs."
                                    "Every port is open, every request is a 502. Expect: health fails with nginx's upstream down,"
                                    "health.upstream (the backend itself) refusing as the root cause.") ;;
    blackhole) CFG_NOTES=("Target and database are loopback listeners that accept TCP and never answer."
                          "Expect: port passes, health fails after one timeout (1s); database times out too;"
                          "the whole run takes about one timeout.") ;;
  esac
  write_config "$dir/preflight.yml" "$scenario"

  FAILED_DIR=
  echo "scenario: $scenario"
  [ -n "$backend_port" ] && echo "backend: http://$( [ "$host" = ::1 ] && echo "[::1]" || echo 127.0.0.1 ):$backend_port/api/v1 (log $dir/backend.log)"
  [ -f "$dir/env" ] && echo "database: $(grep '^PSQL=' "$dir/env" | cut -d= -f2- | tr -d '"')"
  echo "stop with: $0 down --dir $dir"
  echo "$dir/preflight.yml"
}

# ------------------------------------------------------------------------- main
cmd=${1:-}; shift || true
scenario=
dir="$HERE/.run"
case $cmd in
  up) scenario=${1:-}; [ -n "$scenario" ] || usage; shift ;;
  down) ;;
  list) echo $SCENARIOS | tr ' ' '\n'; exit 0 ;;
  *) usage ;;
esac
while [ $# -gt 0 ]; do
  case $1 in
    --dir) dir=${2:?--dir needs a value}; shift ;;
    *) say "unknown argument $1"; usage ;;
  esac; shift
done

case $cmd in
  up) stack_up "$scenario" "$dir" ;;
  down) [ -d "$dir" ] && stack_down "$(cd "$dir" && pwd)"; exit 0 ;;
esac
