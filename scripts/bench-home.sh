#!/usr/bin/env bash
# Benchmark: the demo territory's public home on SQLite and PostgreSQL, with
# wrk on loopback (64 connections, 10 s), against the same page served as a
# static file by nginx in the same run. Prints requests/s, p99 latency,
# memory (idle and after load) and start-up time to the first 200.
# Rows marked -nocache disable the per-process micro-cache (every request
# renders the page from the database).
# Figures only: nothing here passes or fails.
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
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --release --quiet
BIN=target/release/maillage
PATH_HOME=/t/lens-lievin/

wrk_run() { # url → "rps p99"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$1" > "$OUT/wrk.txt"
  local rps p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$OUT/wrk.txt")
  errors=$(grep -E 'Non-2xx|Socket errors' "$OUT/wrk.txt" | tr '\n' ' ' || true)
  [ -n "$errors" ] && echo "  wrk: $errors" >&2
  echo "$rps $p99"
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

declare -A RESULT
serve_bench() { # name url port cache_ms
  local backend=$1 url=$2 port=$3 cache_ms=$4
  export MAILLAGE_PUBLIC_CACHE_MS=$cache_ms
  local t0 pid code
  t0=$(date +%s%N)
  MAILLAGE_DATABASE_URL="$url" MAILLAGE_LOG=error "$BIN" serve --demo --addr "127.0.0.1:$port" > "$OUT/$backend.log" 2>&1 &
  pid=$!
  until code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$PATH_HOME") && [ "$code" = 200 ]; do sleep 0.02; done
  local startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  # Second start, on the already migrated and loaded database: the usual case.
  kill -TERM $pid; wait $pid || true
  t0=$(date +%s%N)
  MAILLAGE_DATABASE_URL="$url" MAILLAGE_LOG=error "$BIN" serve --addr "127.0.0.1:$port" > "$OUT/$backend.log" 2>&1 &
  pid=$!
  until code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$PATH_HOME") && [ "$code" = 200 ]; do sleep 0.01; done
  local warm_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  sleep 0.5
  local idle; idle=$(rss_kb $pid)
  curl -s "http://127.0.0.1:$port$PATH_HOME" > "$OUT/home.html"
  read -r rps p99 < <(wrk_run "http://127.0.0.1:$port$PATH_HOME")
  local loaded; loaded=$(hwm_kb $pid)
  kill -TERM $pid; wait $pid || true
  RESULT[$backend]="$rps $p99 $idle $loaded $startup_ms $warm_ms"
}

port=18181
rm -f "$OUT/bench.db"*
serve_bench sqlite "sqlite://$OUT/bench.db" $port 2000
serve_bench sqlite-nocache "sqlite://$OUT/bench.db" $port 0

psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS maillage_bench" >/dev/null
psql "$PG_ADMIN" -qc "CREATE DATABASE maillage_bench" >/dev/null
serve_bench postgres "${PG_ADMIN%/*}/maillage_bench" $((port + 1)) 2000
serve_bench postgres-nocache "${PG_ADMIN%/*}/maillage_bench" $((port + 1)) 0
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS maillage_bench WITH (FORCE)" >/dev/null

# The same page as a static file behind nginx.
mkdir -p "$OUT/www/t/lens-lievin"
cp "$OUT/home.html" "$OUT/www/t/lens-lievin/index.html"
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
read -r nrps np99 < <(wrk_run "http://127.0.0.1:$((port + 2))$PATH_HOME")
nginx -c "$OUT/nginx.conf" -p "$OUT" -s stop

echo
echo "Public home ($PATH_HOME, $(wc -c < "$OUT/home.html") bytes), wrk -c$CONNECTIONS -d$DURATION on $(nproc) cores"
printf '%-17s %12s %10s %12s %14s %16s %14s %10s\n' backend "req/s" p99 "idle RSS" "loaded RSS" "1st start (ms)" "restart (ms)" "vs nginx"
for b in sqlite postgres sqlite-nocache postgres-nocache; do
  read -r rps p99 idle loaded startup warm <<< "${RESULT[$b]}"
  ratio=$(awk -v a="$rps" -v b="$nrps" 'BEGIN { printf "%.2f", a / b }')
  printf '%-17s %12s %10s %10s kB %12s kB %16s %14s %10s\n' "$b" "$rps" "$p99" "$idle" "$loaded" "$startup" "$warm" "$ratio"
done
printf '%-17s %12s %10s\n' nginx "$nrps" "$np99"
