#!/usr/bin/env bash
# Soak: the release binary with the demo, under a steady mixed load for
# DURATION (default 10 minutes) with wrk: public pages (home, drop-ins, agenda
# and its month calendar, event page, directory searches, contract, fiche
# action), both calendar feeds and the JSON API, spread over the territory's
# URLs by a Lua script. Prints the requests, the non-2xx answers and socket
# errors, the latency percentiles, and the server's memory (resident set) at
# start, after the load and its peak.
# Figures only: nothing here passes or fails.
#
#   DURATION=10m BACKEND=sqlite bash scripts/soak.sh
#   BACKEND=postgres bash scripts/soak.sh   # MAILLAGE_TEST_POSTGRES_URL
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10m}"
CONNECTIONS="${CONNECTIONS:-32}"
BACKEND="${BACKEND:-sqlite}"
PORT="${PORT:-8097}"
PG_ADMIN="${MAILLAGE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
OUT="$(mktemp -d)"
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$OUT"' EXIT

command -v wrk >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}
cargo build --release --quiet
BIN=target/release/maillage

case "$BACKEND" in
  sqlite) URL="sqlite://$OUT/soak.db" ;;
  postgres)
    DB="maillage_soak_$$"
    psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
    URL="${PG_ADMIN%/*}/$DB"
    trap 'kill "${PID:-0}" 2>/dev/null || true; sleep 1; psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null; rm -rf "$OUT"' EXIT
    ;;
  *) echo "BACKEND is sqlite or postgres" >&2; exit 2 ;;
esac

MAILLAGE_DATABASE_URL="$URL" MAILLAGE_LOG=error "$BIN" serve --demo --addr "127.0.0.1:$PORT" >"$OUT/serve.log" 2>&1 &
PID=$!
BASE="http://127.0.0.1:$PORT"
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/t/lens-lievin/")" = 200 ]; do sleep 0.1; done

cat >"$OUT/mix.lua" <<'LUA'
local paths = {
  "/t/lens-lievin/",
  "/t/lens-lievin/permanences",
  "/t/lens-lievin/permanences?vue=dates",
  "/t/lens-lievin/agenda",
  "/t/lens-lievin/agenda?vue=mois",
  "/t/lens-lievin/evenements/1",
  "/t/lens-lievin/annuaire?q=generaliste",
  "/t/lens-lievin/annuaire?q=pharmacie&commune=62498",
  "/t/lens-lievin/annuaire?q=kine",
  "/t/lens-lievin/contrat/1",
  "/t/lens-lievin/actions/2.1.1",
  "/t/lens-lievin/participer",
  "/t/lens-lievin/agenda.ics",
  "/t/lens-lievin/permanences.ics",
  "/api/v1/agenda/lens-lievin/events",
  "/api/v1/territories/lens-lievin/directory?q=infirmier",
  "/api/openapi.json",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA

rss() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$PID/status"; }

START_RSS=$(rss)
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$OUT/mix.lua" "$BASE" >"$OUT/wrk.txt"
END_RSS=$(rss)
PEAK=$(hwm)

echo "== soak: $BACKEND, $DURATION, $CONNECTIONS connections, 17 mixed URLs"
grep -E 'requests in|Requests/sec|Non-2xx|Socket errors' "$OUT/wrk.txt" || true
awk '/Latency Distribution/,/requests in/' "$OUT/wrk.txt" | grep -E '50%|90%|99%'
echo "memory (RSS): start ${START_RSS} kB, end ${END_RSS} kB, peak ${PEAK} kB"
echo "server log lines at error level: $(grep -c ERROR "$OUT/serve.log" || true)"
