#!/usr/bin/env bash
# The whole test suite: unit, storage (SQLite and PostgreSQL), HTTP, CLI and
# end-to-end (headless Chromium + axe-core). Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."

export MAILLAGE_TEST_POSTGRES_URL="${MAILLAGE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v pg_dump >/dev/null 2>&1 || need_apt+=(postgresql-client)
command -v sqlite3 >/dev/null 2>&1 || need_apt+=(sqlite3)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]} (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -d tests/e2e/node_modules ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules ]; then
  echo "== npm ci (playwright-core, axe-core)"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# Exported files are checked by independent readers: the iCalendar feeds
# (tests/it/agenda_http.rs) and the XLSX exports (tests/it/plan_http.rs).
if ! python3 -c 'import icalendar, recurring_ical_events, openpyxl' 2>/dev/null; then
  echo "== pip install icalendar recurring-ical-events openpyxl"
  python3 -m pip install --quiet icalendar recurring-ical-events openpyxl 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages icalendar recurring-ical-events openpyxl
fi
# The JSON API is checked against its OpenAPI document by Schemathesis
# (tests/it/schemathesis.rs), at a pinned version.
SCHEMATHESIS_VERSION=4.32.5
if [ "$(st --version 2>/dev/null)" != "st, version $SCHEMATHESIS_VERSION" ]; then
  echo "== pip install schemathesis==$SCHEMATHESIS_VERSION"
  python3 -m pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "schemathesis==$SCHEMATHESIS_VERSION"
fi
# Questionnaire XLSX exports are read back by openpyxl (tests/it/participation_http.rs).
if ! python3 -c 'import openpyxl' 2>/dev/null; then
  echo "== pip install openpyxl"
  python3 -m pip install --quiet openpyxl 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages openpyxl
fi

# Reports (tests/it/report_formats.rs, tests/report_read.py) are read back
# by python-docx (DOCX) and odfpy (ODT), at pinned versions.
if ! python3 -c 'import docx, odf' 2>/dev/null; then
  echo "== pip install python-docx odfpy"
  python3 -m pip install --quiet python-docx==1.2.0 odfpy==1.4.1 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages python-docx==1.2.0 odfpy==1.4.1
fi

# The diagnosis' accessibility scores are checked against PySAL's `access`
# package (tests/pysal_e2sfca.py, tests/it/diagnosis_pysal.rs); it brings
# pandas and geopandas.
if ! python3 -c 'import access, pandas' 2>/dev/null; then
  echo "== pip install access"
  python3 -m pip install --quiet access==1.1.9 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages access==1.1.9
fi

# Databases left behind by interrupted runs.
psql "$MAILLAGE_TEST_POSTGRES_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'maillage_t_%'" 2>/dev/null \
  | while read -r db; do psql "$MAILLAGE_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
else
  cargo test --no-fail-fast "$@"
fi
