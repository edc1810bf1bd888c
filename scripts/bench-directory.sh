#!/usr/bin/env bash
# Benchmark: importing national-size FINESS (~100,000 establishments, from the
# etalab CSV and from the FiNESS+ gzip JSON) and RPPS
# (~2,000,000 rows) files on SQLite and PostgreSQL, against each database's own
# bulk loader on the same file in the same run (sqlite3 .import, PostgreSQL
# COPY), then search latency (p50/p95) on the national data.
# The files are synthetic, written by the gen_directory binary into a
# temporary directory (never committed). Figures only: nothing is asserted.
#
# Options (environment): ESTABLISHMENTS, RPPS_ROWS (sizes); BIN=path to a
# maillage binary already built (gen_directory beside it); SKIP_BULK=1
# leaves out the bulk loaders; BEFORE_BIN=path/to/an/older/maillage imports
# and measures the searches with that binary first, then migrates the same
# databases with this tree's binary (timed) and measures them again: a
# before/after on the same data. KEEP=dir keeps the files and databases in
# dir (a SQLite file there, the PostgreSQL database maillage_bench_dir);
# SEARCH_ONLY=1 with the same KEEP measures the searches again on them,
# without generating or importing. SKIP_FLOOR=1 leaves out the floors.
#
# The floor column: the same database writing the rows the import left in
# its tables (establishments, their search rows, category counts and
# commune points; professionals, practice places, their search rows and
# profession counts), copied from this run's databases, into an empty
# migrated database holding the communes, in one transaction, with the
# schema's indexes (RPPS: the indexes the import makes after the rows,
# made after them the same way, `REBUILT_*` in
# storage/professionals_import.rs). No file is read, nothing is parsed,
# compared or derived (no accessibility, no supply): no importer of this
# schema can be faster, so « floor ratio » is the lowest ratio to the bulk
# loader any importer of it could reach. SQLite copies with
# INSERT … SELECT from an attached file, PostgreSQL with COPY.
set -euo pipefail
cd "$(dirname "$0")/.."

ESTABLISHMENTS="${ESTABLISHMENTS:-100000}"
RPPS_ROWS="${RPPS_ROWS:-2000000}"
PG_ADMIN="${MAILLAGE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if [ -n "${KEEP:-}" ]; then
  OUT="$KEEP"; mkdir -p "$OUT"
else
  OUT="$(mktemp -d)"
  trap 'rm -rf "$OUT"' EXIT
fi

need=()
[ -x /usr/bin/time ] || need+=(time)
command -v sqlite3 >/dev/null || need+=(sqlite3)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bins
  BIN=target/release/maillage
fi
GEN="$(dirname "$BIN")/gen_directory"
OLD="${BEFORE_BIN:-$BIN}"
DB="sqlite://$OUT/bench.db"
PG="${PG_ADMIN%/*}/maillage_bench_dir"
if [ -z "${SEARCH_ONLY:-}" ]; then
"$GEN" "$OUT/data" "$ESTABLISHMENTS" "$RPPS_ROWS"
ls -la "$OUT/data" | awk 'NR>1 {printf "  %-28s %8.1f MB\n", $9, $5/1048576}'

measure() { # label, command… → "seconds maxrss_mb"
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" > "$OUT/$label.out" 2>&1 || { cat "$OUT/$label.out"; exit 1; }
  awk '{printf "%s %.0f", $1, $2/1024}' "$OUT/time.txt"
}

declare -A R
# --- SQLite
rm -f "$OUT"/bench*.db*
MAILLAGE_DATABASE_URL="$DB" $OLD migrate >/dev/null
MAILLAGE_DATABASE_URL="$DB" $OLD import communes "$OUT/data/communes.json" >/dev/null
R[sqlite_finess]=$(MAILLAGE_LOG=error measure sqlite_finess env MAILLAGE_DATABASE_URL="$DB" $OLD import finess "$OUT/data/finess.csv")
R[sqlite_finess_again]=$(MAILLAGE_LOG=error measure sqlite_finess_again env MAILLAGE_DATABASE_URL="$DB" $OLD import finess "$OUT/data/finess.csv")
R[sqlite_rpps]=$(MAILLAGE_LOG=error measure sqlite_rpps env MAILLAGE_DATABASE_URL="$DB" $OLD import rpps "$OUT/data/rpps.txt")
# The same file again: everything read and compared, nothing written.
R[sqlite_rpps_again]=$(MAILLAGE_LOG=error measure sqlite_rpps_again env MAILLAGE_DATABASE_URL="$DB" $OLD import rpps "$OUT/data/rpps.txt")
# The same establishments from the FiNESS+ file (gzip JSON, streamed), into
# an empty database of its own, as the CSV went.
DB_PLUS="sqlite://$OUT/bench-plus.db"
MAILLAGE_DATABASE_URL="$DB_PLUS" $BIN migrate >/dev/null
MAILLAGE_DATABASE_URL="$DB_PLUS" $BIN import communes "$OUT/data/communes.json" >/dev/null
R[sqlite_finess_plus]=$(MAILLAGE_LOG=error measure sqlite_finess_plus env MAILLAGE_DATABASE_URL="$DB_PLUS" $BIN import finess-plus "$OUT/data/finess-structures.json.gz")
if [ -z "${SKIP_BULK:-}" ]; then
# The same files with sqlite3's own loader, each into one table (FINESS
# lines hold no '|': each line lands whole in one column).
rm -f "$OUT/bulk.db"
iconv -f WINDOWS-1252 -t UTF-8 "$OUT/data/finess.csv" > "$OUT/finess-utf8.csv"
R[sqlite_finess_bulk]=$(measure sqlite_finess_bulk sqlite3 "$OUT/bulk.db" \
  "CREATE TABLE finess_raw (line TEXT);" ".mode list" ".separator |" ".import $OUT/finess-utf8.csv finess_raw")
R[sqlite_rpps_bulk]=$(measure sqlite_rpps_bulk sqlite3 "$OUT/bulk.db" ".mode list" ".separator |" ".import $OUT/data/rpps.txt rpps_raw")
fi

# --- PostgreSQL
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS maillage_bench_dir WITH (FORCE)" >/dev/null 2>&1
psql "$PG_ADMIN" -qc "CREATE DATABASE maillage_bench_dir" >/dev/null
MAILLAGE_DATABASE_URL="$PG" $OLD import communes "$OUT/data/communes.json" >/dev/null
R[pg_finess]=$(MAILLAGE_LOG=error measure pg_finess env MAILLAGE_DATABASE_URL="$PG" $OLD import finess "$OUT/data/finess.csv")
R[pg_finess_again]=$(MAILLAGE_LOG=error measure pg_finess_again env MAILLAGE_DATABASE_URL="$PG" $OLD import finess "$OUT/data/finess.csv")
R[pg_rpps]=$(MAILLAGE_LOG=error measure pg_rpps env MAILLAGE_DATABASE_URL="$PG" $OLD import rpps "$OUT/data/rpps.txt")
R[pg_rpps_again]=$(MAILLAGE_LOG=error measure pg_rpps_again env MAILLAGE_DATABASE_URL="$PG" $OLD import rpps "$OUT/data/rpps.txt")
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS maillage_bench_plus WITH (FORCE)" >/dev/null 2>&1
psql "$PG_ADMIN" -qc "CREATE DATABASE maillage_bench_plus" >/dev/null
PG_PLUS="${PG_ADMIN%/*}/maillage_bench_plus"
MAILLAGE_DATABASE_URL="$PG_PLUS" $BIN import communes "$OUT/data/communes.json" >/dev/null
R[pg_finess_plus]=$(MAILLAGE_LOG=error measure pg_finess_plus env MAILLAGE_DATABASE_URL="$PG_PLUS" $BIN import finess-plus "$OUT/data/finess-structures.json.gz")
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS maillage_bench_plus WITH (FORCE)" >/dev/null
if [ -z "${SKIP_BULK:-}" ]; then
COLS=$(head -1 "$OUT/data/rpps.txt" | awk -F'|' '{for (i = 1; i < NF; i++) printf "%sc%d text", (i > 1 ? ", " : ""), i; printf ", c_end text"}')
psql "$PG" -qc "CREATE TABLE finess_raw (line text); CREATE TABLE rpps_raw ($COLS);" >/dev/null
R[pg_finess_bulk]=$(measure pg_finess_bulk psql "$PG" -qc "\\copy finess_raw FROM '$OUT/data/finess.csv' WITH (FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e', ENCODING 'WIN1252')")
R[pg_rpps_bulk]=$(measure pg_rpps_bulk psql "$PG" -qc "\\copy rpps_raw FROM '$OUT/data/rpps.txt' WITH (FORMAT csv, DELIMITER '|', QUOTE E'\\x1e', HEADER true)")
fi

if [ -z "${SKIP_FLOOR:-}" ]; then
# --- Floors (see the header): the import's final rows written again.
# SQLite: the rows to write, alone in a file of their own (not timed), in
# the order of each table's key; then a migrated database holding the
# communes receives them.
FLOOR_DB="$OUT/floor.db"
rm -f "$OUT"/floor*.db* "$OUT/floor-rows.db"
MAILLAGE_DATABASE_URL="sqlite://$FLOOR_DB" $BIN migrate >/dev/null
MAILLAGE_DATABASE_URL="sqlite://$FLOOR_DB" $BIN import communes "$OUT/data/communes.json" >/dev/null
sqlite3 "$OUT/floor-rows.db" "ATTACH '$OUT/bench.db' AS b;
  CREATE TABLE establishments AS SELECT * FROM b.establishments ORDER BY finess;
  CREATE TABLE search_e AS SELECT * FROM b.directory_search WHERE kind = 'establishment' ORDER BY insee_code, kind, id, position;
  CREATE TABLE facets_e AS SELECT * FROM b.directory_facet_counts WHERE kind = 'category' ORDER BY insee_code, kind, code;
  CREATE TABLE points AS SELECT * FROM b.commune_points;
  CREATE TABLE professionals AS SELECT * FROM b.professionals ORDER BY rpps;
  CREATE TABLE places AS SELECT * FROM b.practice_places ORDER BY rpps, position;
  CREATE TABLE search_p AS SELECT * FROM b.directory_search WHERE kind = 'professional' ORDER BY insee_code, kind, id, position;
  CREATE TABLE facets_p AS SELECT * FROM b.directory_facet_counts WHERE kind = 'profession' ORDER BY insee_code, kind, code;"
R[sqlite_finess_floor]=$(measure sqlite_finess_floor sqlite3 "$FLOOR_DB" "PRAGMA synchronous = NORMAL;
  ATTACH '$OUT/floor-rows.db' AS src; BEGIN;
  INSERT INTO establishments SELECT * FROM src.establishments;
  INSERT INTO directory_search SELECT * FROM src.search_e;
  INSERT INTO directory_facet_counts SELECT * FROM src.facets_e;
  INSERT INTO commune_points SELECT * FROM src.points;
  COMMIT;")
R[sqlite_rpps_floor]=$(measure sqlite_rpps_floor sqlite3 "$FLOOR_DB" "PRAGMA synchronous = NORMAL;
  ATTACH '$OUT/floor-rows.db' AS src; BEGIN;
  DROP INDEX practice_places_commune; DROP INDEX directory_search_entry;
  INSERT INTO professionals SELECT * FROM src.professionals;
  INSERT INTO practice_places SELECT * FROM src.places;
  INSERT INTO directory_search SELECT * FROM src.search_p;
  INSERT INTO directory_facet_counts SELECT * FROM src.facets_p;
  CREATE INDEX practice_places_commune ON practice_places (insee_code);
  CREATE INDEX directory_search_entry ON directory_search (kind, id);
  COMMIT;")
rm -f "$OUT"/floor*.db*
# PostgreSQL: the rows in COPY's text format (not timed), then COPY.
PG_FLOOR="${PG_ADMIN%/*}/maillage_bench_floor"
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS maillage_bench_floor WITH (FORCE)" >/dev/null 2>&1
psql "$PG_ADMIN" -qc "CREATE DATABASE maillage_bench_floor" >/dev/null
MAILLAGE_DATABASE_URL="$PG_FLOOR" $BIN import communes "$OUT/data/communes.json" >/dev/null
psql "$PG" -q \
  -c "\\copy (SELECT * FROM establishments) TO '$OUT/floor-estab.copy'" \
  -c "\\copy (SELECT * FROM directory_search WHERE kind = 'establishment') TO '$OUT/floor-search-e.copy'" \
  -c "\\copy (SELECT * FROM directory_facet_counts WHERE kind = 'category') TO '$OUT/floor-facets-e.copy'" \
  -c "\\copy (SELECT * FROM commune_points) TO '$OUT/floor-points.copy'" \
  -c "\\copy (SELECT * FROM professionals) TO '$OUT/floor-pros.copy'" \
  -c "\\copy (SELECT * FROM practice_places) TO '$OUT/floor-places.copy'" \
  -c "\\copy (SELECT * FROM directory_search WHERE kind = 'professional') TO '$OUT/floor-search-p.copy'" \
  -c "\\copy (SELECT * FROM directory_facet_counts WHERE kind = 'profession') TO '$OUT/floor-facets-p.copy'"
cat > "$OUT/floor-finess.sql" <<SQL
BEGIN;
\\copy establishments FROM '$OUT/floor-estab.copy'
\\copy directory_search FROM '$OUT/floor-search-e.copy'
\\copy directory_facet_counts FROM '$OUT/floor-facets-e.copy'
\\copy commune_points FROM '$OUT/floor-points.copy'
COMMIT;
SQL
cat > "$OUT/floor-rpps.sql" <<SQL
BEGIN;
SET LOCAL work_mem = '128MB';
SET LOCAL maintenance_work_mem = '512MB';
ALTER TABLE directory_search DROP CONSTRAINT directory_search_pkey;
DROP INDEX professionals_profession;
ALTER TABLE practice_places DROP CONSTRAINT practice_places_rpps_fkey;
DROP INDEX practice_places_commune;
DROP INDEX directory_search_commune;
\\copy professionals FROM '$OUT/floor-pros.copy'
\\copy practice_places FROM '$OUT/floor-places.copy'
\\copy directory_search FROM '$OUT/floor-search-p.copy'
\\copy directory_facet_counts FROM '$OUT/floor-facets-p.copy'
ALTER TABLE directory_search ADD CONSTRAINT directory_search_pkey PRIMARY KEY (kind, id, position);
CREATE INDEX professionals_profession ON professionals (profession_code);
ALTER TABLE practice_places ADD CONSTRAINT practice_places_rpps_fkey
  FOREIGN KEY (rpps) REFERENCES professionals (rpps) ON DELETE CASCADE;
CREATE INDEX practice_places_commune ON practice_places (insee_code);
CREATE INDEX directory_search_commune ON directory_search (insee_code, kind)
  INCLUDE (id, position, code, name, words);
COMMIT;
SQL
psql "$PG_FLOOR" -qc CHECKPOINT
R[pg_finess_floor]=$(measure pg_finess_floor psql "$PG_FLOOR" -q -v ON_ERROR_STOP=1 -f "$OUT/floor-finess.sql")
psql "$PG_FLOOR" -qc CHECKPOINT
R[pg_rpps_floor]=$(measure pg_rpps_floor psql "$PG_FLOOR" -q -v ON_ERROR_STOP=1 -f "$OUT/floor-rpps.sql")
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS maillage_bench_floor WITH (FORCE)" >/dev/null
rm -f "$OUT"/floor-*
fi

echo
echo "Import ($ESTABLISHMENTS establishments, $RPPS_ROWS RPPS rows), on $(nproc) cores"
printf '%-22s %8s %14s %16s %7s %10s %12s\n' "" "seconds" "peak RSS (MB)" "bulk loader (s)" "ratio" "floor (s)" "floor ratio"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "-") printf "%.1fx", a / b; else printf "-" }'; }
for k in sqlite_finess sqlite_finess_again sqlite_rpps sqlite_rpps_again pg_finess pg_finess_again pg_rpps pg_rpps_again; do
  read -r s m <<< "${R[$k]}"
  read -r bs _ <<< "${R[${k%_again}_bulk]:-0 0}"
  fs=-
  [ "$k" = "${k%_again}" ] && read -r fs _ <<< "${R[${k}_floor]:-- 0}"
  printf '%-22s %8s %14s %16s %7s %10s %12s\n' "$k" "$s" "$m" "$bs" "$(ratio "$s" "$bs")" "$fs" "$(ratio "$fs" "$bs")"
done
# FiNESS+ beside the CSV: the same establishments, gzip JSON read as a stream.
for k in sqlite_finess_plus pg_finess_plus; do
  read -r s m <<< "${R[$k]}"
  read -r cs _ <<< "${R[${k%_plus}]}"
  printf '%-22s %10s %14s %14s %10s\n' "$k" "$s" "$m" "(csv ${cs} s)" "$(awk -v a="$s" -v b="$cs" 'BEGIN { printf "%.1fx csv", a / b }')"
done

fi # SEARCH_ONLY

# --- Search latency on the national data: a territory of 40 communes.
latency() { # db_url label binary
  local url=$1 label=$2 bin=$3 port=18291
  MAILLAGE_DATABASE_URL="$url" $bin user create bench-admin@exemple.fr --instance-role admin >/dev/null 2>&1 || true
  # The territory: the 40 communes of département 62 numbered 001-040.
  python3 - "$url" <<'PY'
import sys, subprocess
url = sys.argv[1]
sql = """INSERT INTO territories (slug, name, kind, created_at, updated_at) VALUES ('bench', 'Territoire de mesure', 'epci', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') ON CONFLICT DO NOTHING;
INSERT INTO territory_communes (territory_id, insee_code) SELECT t.id, c.insee_code FROM territories t, communes c WHERE t.slug = 'bench' AND c.insee_code BETWEEN '62001' AND '62040' ON CONFLICT DO NOTHING;"""
if url.startswith("sqlite://"):
    subprocess.run(["sqlite3", url[len("sqlite://"):], sql], check=True)
else:
    subprocess.run(["psql", url, "-qc", sql], check=True)
PY
  MAILLAGE_PUBLIC_CACHE_MS=0 MAILLAGE_DATABASE_URL="$url" MAILLAGE_LOG=error $bin serve --addr "127.0.0.1:$port" > "$OUT/serve.log" 2>&1 &
  local pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/sante"; do sleep 0.05; done
  python3 - "$port" "$label" <<'PY'
import sys, time, urllib.request, statistics
port, label = sys.argv[1], sys.argv[2]
api = f"http://127.0.0.1:{port}/api/v1/territories/bench/directory"
page = f"http://127.0.0.1:{port}/t/bench/annuaire"
queries = {
    "name (q=pharmacie)": api + "?q=pharmacie",
    "name, typo (q=pharmacei)": api + "?q=pharmacei",
    "surname (q=martin)": api + "?q=martin",
    "profession+commune": api + "?profession=10&commune=62012",
    "distance (20 km)": api + "?q=centre&radius_km=20",
    "page (empty query)": page,
    "page (q=kine, 20 km)": page + "?q=kine&rayon=20",
}
for name, url in queries.items():
    times = []
    for i in range(60):
        t = time.perf_counter()
        with urllib.request.urlopen(url) as r:
            r.read()
        if i >= 10:
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p50 = times[len(times) // 2]
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"  {label:<18} {name:<26} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")
PY
  kill -TERM $pid; wait $pid || true
}
echo
echo "Search latency, national data, a territory of 40 communes (sequential requests, no cache)"
if [ "$OLD" != "$BIN" ]; then
  latency "$DB" "sqlite before" "$OLD"
  latency "$PG" "postgres before" "$OLD"
  echo "migrating to this tree (facet counts and search words filled from the data):"
  echo "  sqlite   $(measure migrate_sqlite env MAILLAGE_DATABASE_URL="$DB" $BIN migrate | awk '{print $1}') s"
  echo "  postgres $(measure migrate_pg env MAILLAGE_DATABASE_URL="$PG" $BIN migrate | awk '{print $1}') s"
  # What the next import does on PostgreSQL (the migration runs in a
  # transaction, where VACUUM cannot): set the visibility map for the
  # index-only scans of directory_search.
  psql "$PG" -qc "VACUUM directory_search"
fi
latency "$DB" sqlite "$BIN"
latency "$PG" postgres "$BIN"
[ -n "${KEEP:-}" ] || psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS maillage_bench_dir WITH (FORCE)" >/dev/null
