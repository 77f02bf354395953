#!/usr/bin/env bash
# Installs the real servers the test suite starts (PostgreSQL), when they are missing.
# The tests start and stop them themselves (tests/conftest.py), on free loopback ports.
set -euo pipefail

have_postgres() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; }

if ! have_postgres; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing PostgreSQL from Debian's packages…"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
  elif command -v sudo >/dev/null; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is not installed and this user cannot install it:" >&2
    echo "  apt-get install postgresql   (the PostgreSQL tests will be skipped)" >&2
  fi
fi
# The Debian package starts a cluster of its own on port 5432; the tests do not use it.
exit 0
