#!/usr/bin/env bash
# Installs the real servers the test suite starts (PostgreSQL, Elasticsearch) and the browser
# it drives (Chromium), when they are missing.
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

# Elasticsearch: the official test distribution from Maven Central, run on the machine's Java
# (tests/esserver.py starts it). Java 17 and Maven come from Debian when missing.
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Java 17 and Maven from Debian's packages…"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
  else
    echo "Java 17 and Maven are needed for the Elasticsearch tests: apt-get install openjdk-17-jre-headless maven" >&2
  fi
fi
# Chromium and chromedriver for the browser tests (tests/web/test_browser.py, Selenium),
# from Debian's packages: no browser build is downloaded.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Chromium and chromedriver from Debian's packages…"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
  elif command -v sudo >/dev/null; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "Chromium is needed for the browser tests: apt-get install chromium chromium-driver" >&2
  fi
fi

ES_VERSION=8.19.7
if command -v mvn >/dev/null && [ ! -f "build/es/elasticsearch-$ES_VERSION.zip" ]; then
  echo "Fetching Elasticsearch $ES_VERSION (test distribution) from Maven Central…"
  mvn -q dependency:copy \
    -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
    -DoutputDirectory=build/es || echo "could not fetch Elasticsearch; its tests will say why" >&2
fi
exit 0
