#!/usr/bin/env bash
# Benchmark: the demo territory's public home on SQLite and PostgreSQL, with
# wrk on loopback (64 connections, 10 s), against the same page served as a
# static file by nginx in the same run. Prints requests/s, p99 latency,
# memory (idle and after load) and start-up time to the first 200.
# Rows marked -nocache disable the per-process micro-cache (every request
# renders the page from the database).
# Figures only: nothing here passes or fails.
#
# Options (environment):
#   PAGE=/t/lens-lievin/actions/2.1.1  another public page of the demo (the
#                          default is the home); nginx serves its bytes at
#                          the same path.
#   NOCACHE_ONLY=1         only the uncached rows (no micro-cache).
#   BIN=path               this binary instead of building the release one.
#   BEFORE_BIN=path        also measure this binary (e.g. main's), rows
#                          prefixed « before- », on the same database.
#   INSTANCE=1             add the rest of a national instance beside the
#                          demo (scripts/bench-instance.sql: 50,000 fiches,
#                          200,000 indicators, 1,600 QPV) before measuring.
#   FLOOR=1                also measure, uncached on both backends, two
#                          pages that bound what any page of this stack can
#                          do, against nginx serving their bytes: /mentions-legales
#                          (the whole middleware stack and a template, no
#                          statement) and /sante (one `SELECT 1` through
#                          sqlx, a two-byte body). A page that runs a
#                          statement cannot beat the second row's ratio.
# Example, the demo's mediation fiche before and after a change:
#   BEFORE_BIN=/tmp/main-maillage PAGE=/t/lens-lievin/actions/2.1.1 \
#     NOCACHE_ONLY=1 bash scripts/bench-home.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
PG_ADMIN="${MAILLAGE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v sqlite3 >/dev/null || need+=(sqlite3)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/maillage
fi
BEFORE_BIN="${BEFORE_BIN:-}"
FLOOR="${FLOOR:-}"
NOCACHE_ONLY="${NOCACHE_ONLY:-}"
INSTANCE="${INSTANCE:-}"
PATH_HOME=/t/lens-lievin/
PAGE="${PAGE:-$PATH_HOME}"

wrk_run() { # url → "rps p50 p99"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$1" > "$OUT/wrk.txt"
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$OUT/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$OUT/wrk.txt")
  errors=$(grep -E 'Non-2xx|Socket errors' "$OUT/wrk.txt" | tr '\n' ' ' || true)
  [ -n "$errors" ] && echo "  wrk: $errors" >&2
  echo "$rps $p50 $p99"
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# INSTANCE=1: the rest of a national instance beside the demo
# (scripts/bench-instance.sql), added once per database.
add_instance() { # url
  local sql=scripts/bench-instance.sql
  case "$1" in
    sqlite:*)
      local file=${1#sqlite://}
      [ -z "$(sqlite3 "$file" "SELECT 1 FROM territories WHERE slug = 'bench-ailleurs'")" ] &&
        sqlite3 "$file" < "$sql"
      ;;
    *)
      [ -z "$(psql "$1" -Atc "SELECT 1 FROM territories WHERE slug = 'bench-ailleurs'")" ] &&
        psql "$1" -q -v ON_ERROR_STOP=1 -f "$sql"
      ;;
  esac
  return 0
}

declare -A RESULT
serve_bench() { # name url port cache_ms [binary]
  local backend=$1 url=$2 port=$3 cache_ms=$4 BIN=${5:-$BIN}
  export MAILLAGE_PUBLIC_CACHE_MS=$cache_ms
  local t0 pid code
  t0=$(date +%s%N)
  MAILLAGE_DATABASE_URL="$url" MAILLAGE_LOG=error "$BIN" serve --demo --addr "127.0.0.1:$port" > "$OUT/$backend.log" 2>&1 &
  pid=$!
  until code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$PATH_HOME") && [ "$code" = 200 ]; do sleep 0.02; done
  local startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  # Second start, on the already migrated and loaded database: the usual case.
  kill -TERM $pid; wait $pid || true
  [ -n "$INSTANCE" ] && add_instance "$url"
  t0=$(date +%s%N)
  MAILLAGE_DATABASE_URL="$url" MAILLAGE_LOG=error "$BIN" serve --addr "127.0.0.1:$port" > "$OUT/$backend.log" 2>&1 &
  pid=$!
  until code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$PATH_HOME") && [ "$code" = 200 ]; do sleep 0.01; done
  local warm_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  sleep 0.5
  local idle; idle=$(rss_kb $pid)
  curl -s "http://127.0.0.1:$port$PAGE" > "$OUT/page.html"
  read -r rps p50 p99 < <(wrk_run "http://127.0.0.1:$port$PAGE")
  local loaded; loaded=$(hwm_kb $pid)
  kill -TERM $pid; wait $pid || true
  RESULT[$backend]="$rps $p50 $p99 $idle $loaded $startup_ms $warm_ms"
}

# FLOOR=1: the floor pages on this backend's database (see the header),
# uncached; their bytes (the SQLite run's) kept for nginx.
declare -A FLOORS
floor_pages() { # name url port
  local name=$1 url=$2 port=$3 pid f
  MAILLAGE_PUBLIC_CACHE_MS=0 MAILLAGE_DATABASE_URL="$url" MAILLAGE_LOG=error \
    "$BIN" serve --addr "127.0.0.1:$port" > "$OUT/floor.log" 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/sante"; do sleep 0.02; done
  mkdir -p "$OUT/www"
  for f in /mentions-legales /sante; do
    [ -f "$OUT/www$f" ] || curl -s "http://127.0.0.1:$port$f" > "$OUT/www$f"
    read -r frps _ _ < <(wrk_run "http://127.0.0.1:$port$f")
    FLOORS[$name$f]="$frps"
  done
  kill -TERM $pid; wait $pid || true
}

ROWS=()
run_backend() { # name url port
  local name=$1 url=$2 port=$3
  if [ -n "$BEFORE_BIN" ]; then
    serve_bench "before-$name-nocache" "$url" "$port" 0 "$BEFORE_BIN"
    ROWS+=("before-$name-nocache")
  fi
  if [ -z "$NOCACHE_ONLY" ]; then
    serve_bench "$name" "$url" "$port" 2000
    ROWS+=("$name")
  fi
  serve_bench "$name-nocache" "$url" "$port" 0
  ROWS+=("$name-nocache")
  [ -z "$FLOOR" ] || floor_pages "$name" "$url" "$port"
}

port=18181
rm -f "$OUT/bench.db"*
run_backend sqlite "sqlite://$OUT/bench.db" $port

psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS maillage_bench" >/dev/null
psql "$PG_ADMIN" -qc "CREATE DATABASE maillage_bench" >/dev/null
run_backend postgres "${PG_ADMIN%/*}/maillage_bench" $((port + 1))
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS maillage_bench WITH (FORCE)" >/dev/null

# The same page as a static file behind nginx, at the same path (the
# bytes the last server gave); nginx ignores the query string, so the file
# is named after the path without it (with it, nginx answered 404s).
PAGE_PATH="${PAGE%%\?*}"
case "$PAGE_PATH" in
  */) STATIC="$OUT/www${PAGE_PATH}index.html" ;;
  *) STATIC="$OUT/www${PAGE_PATH}" ;;
esac
mkdir -p "$(dirname "$STATIC")"
cp "$OUT/page.html" "$STATIC"
cat > "$OUT/nginx.conf" <<NGINX
worker_processes auto;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type text/html;
  client_body_temp_path $OUT/tmp; proxy_temp_path $OUT/tmp; fastcgi_temp_path $OUT/tmp; uwsgi_temp_path $OUT/tmp; scgi_temp_path $OUT/tmp;
  server { listen 127.0.0.1:$((port + 2)); root $OUT/www; index index.html; }
}
NGINX
mkdir -p "$OUT/tmp"
chmod -R a+rX "$OUT"   # nginx workers run as www-data
nginx -c "$OUT/nginx.conf" -p "$OUT"
sleep 0.3
read -r nrps np50 np99 < <(wrk_run "http://127.0.0.1:$((port + 2))$PAGE")
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((port + 2))$PAGE")
[ "$code" = 200 ] || echo "  nginx answered $code for $PAGE: its figures are not the page's" >&2
# FLOOR=1: nginx on the floor pages' bytes.
if [ -n "$FLOOR" ]; then
  for f in /mentions-legales /sante; do
    read -r gnrps _ _ < <(wrk_run "http://127.0.0.1:$((port + 2))$f")
    FLOORS[nginx$f]="$gnrps"
  done
fi
nginx -c "$OUT/nginx.conf" -p "$OUT" -s stop

echo
echo "Public page $PAGE ($(wc -c < "$OUT/page.html") bytes), wrk -c$CONNECTIONS -d$DURATION on $(nproc) cores"
printf '%-24s %12s %10s %10s %12s %14s %16s %14s %10s\n' backend "req/s" p50 p99 "idle RSS" "loaded RSS" "1st start (ms)" "restart (ms)" "vs nginx"
for b in "${ROWS[@]}"; do
  read -r rps p50 p99 idle loaded startup warm <<< "${RESULT[$b]}"
  ratio=$(awk -v a="$rps" -v b="$nrps" 'BEGIN { printf "%.2f", a / b }')
  printf '%-24s %12s %10s %10s %10s kB %12s kB %16s %14s %10s\n' "$b" "$rps" "$p50" "$p99" "$idle" "$loaded" "$startup" "$warm" "$ratio"
done
printf '%-24s %12s %10s %10s\n' nginx "$nrps" "$np50" "$np99"
if [ -n "$FLOOR" ]; then
  echo
  echo "Floors (uncached): the same stack, each page against nginx serving its bytes"
  printf '%-34s %6s %12s %12s %12s %12s %10s %10s\n' page bytes "sqlite req/s" "pg req/s" "nginx req/s" "" "sqlite" "pg"
  for f in /mentions-legales /sante; do
    label="$f (no statement)"; [ "$f" = /sante ] && label="$f (one SELECT 1)"
    printf '%-34s %6s %12s %12s %12s %12s %10s %10s\n' "$label" "$(wc -c < "$OUT/www$f")" \
      "${FLOORS[sqlite$f]}" "${FLOORS[postgres$f]}" "${FLOORS[nginx$f]}" "vs nginx:" \
      "$(awk -v a="${FLOORS[sqlite$f]}" -v b="${FLOORS[nginx$f]}" 'BEGIN { printf "%.2f", a / b }')" \
      "$(awk -v a="${FLOORS[postgres$f]}" -v b="${FLOORS[nginx$f]}" 'BEGIN { printf "%.2f", a / b }')"
  done
fi
