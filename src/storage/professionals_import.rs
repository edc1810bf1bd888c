//! The RPPS import's writing, streamed: professionals arrive batch by batch
//! from the reader (`import::rpps::Reader`), are compared with what the
//! directory holds, and only the new and changed ones are staged, with
//! their practice places and their search rows, in temporary tables of one
//! connection (SQLite: multi-row prepared `INSERT`s; PostgreSQL:
//! `COPY … FROM STDIN`). At the end one transaction applies the staged rows
//! to the real tables set-based (see `directory::stage_tables!` for why
//! staging keeps other writers in).
//!
//! Memory stays bounded whatever the file: what the directory holds is kept
//! as one (identifier, fingerprint) pair of 24 bytes per professional,
//! removed as the file names them; what remains at the end is gone.
//!
//! The search rows are folded here ([`fold_words`], the same table as the
//! SQL of `directory::search_rows_sql`), so that the apply transaction only
//! copies rows: on SQLite it holds the only write lock, and folding two
//! million rows with nested `REPLACE`s inside it kept other writers
//! waiting for minutes.

use std::collections::HashMap;

use chrono::Utc;
use sqlx::pool::PoolConnection;
use sqlx::{Postgres, Sqlite};

use super::care_supply::{professions_of, refresh_in, supply_delete_sql};
use super::directory::{
    drop_staged, fold_words, record_import, serialise_imports, stage_tables, ImportSummary,
    FACETS_DELETE, PROFESSION, PROFESSION_FACETS_INSERT, SEARCH_COLS,
};
use super::staging::{stage_postgres, stage_sqlite, Cell, Rows, Stage};
use super::{Db, DbResult};
use crate::db_run;
use crate::domain::diagnosis::{rpps_shares, Profession};
use crate::domain::directory::{PracticePlace, Professional, Progress};
use crate::import::rpps::{id_key, id_of_key, merge_late, LateRow};
use crate::import::LineError;

const PRO_COLS: &str =
    "rpps, last_name, first_name, name_search, profession_code, profession_label, content_hash";
const PLACE_COLS: &str =
    "rpps, position, specialty_code, specialty_label, mode_code, sector_code, \
     finess_site, siret_site, site_name, address, postal_code, insee_code, city, phone";

/// What the apply transaction drops and creates again, rather than
/// maintains row by row, when it fills an empty directory: (what to drop,
/// how the migrations create it). Creating an index over sorted rows, and
/// checking a foreign key in one join, cost a fraction of two million
/// single updates. `tests/it/rpps_stream.rs` checks that the schema after
/// a first import is the migrations' own.
const REBUILT_SQLITE: &[(&str, &str)] = &[
    (
        "DROP INDEX practice_places_commune",
        "CREATE INDEX practice_places_commune ON practice_places (insee_code)",
    ),
    (
        "DROP INDEX directory_search_entry",
        "CREATE INDEX directory_search_entry ON directory_search (kind, id)",
    ),
];
const REBUILT_POSTGRES: &[(&str, &str)] = &[
    (
        "ALTER TABLE directory_search DROP CONSTRAINT directory_search_pkey",
        "ALTER TABLE directory_search ADD CONSTRAINT directory_search_pkey \
         PRIMARY KEY (kind, id, position)",
    ),
    (
        "DROP INDEX professionals_profession",
        "CREATE INDEX professionals_profession ON professionals (profession_code)",
    ),
    (
        "ALTER TABLE practice_places DROP CONSTRAINT practice_places_rpps_fkey",
        "ALTER TABLE practice_places ADD CONSTRAINT practice_places_rpps_fkey \
         FOREIGN KEY (rpps) REFERENCES professionals (rpps) ON DELETE CASCADE",
    ),
    (
        "DROP INDEX practice_places_commune",
        "CREATE INDEX practice_places_commune ON practice_places (insee_code)",
    ),
    (
        "DROP INDEX directory_search_commune",
        "CREATE INDEX directory_search_commune ON directory_search (insee_code, kind) \
         INCLUDE (id, position, code, name, words)",
    ),
];

/// Professionals added to an empty directory from which indexes are made
/// after the rows rather than kept up to date row by row.
pub const BULK_FROM: i64 = 1_000;

/// Stored fingerprints read at a time when the import starts.
const PAGE: i64 = 100_000;

/// A professional made ready to stage: its fingerprint, folded name and
/// search words computed where it was read (the RPPS reader's thread), so
/// that the writing task only compares and binds while the reader goes on.
pub struct Prepared {
    pub p: Professional,
    hash: String,
    name_search: String,
    /// One per practice place, in order ([`fold_words`]).
    words: Vec<String>,
}

impl Prepared {
    pub fn new(p: Professional) -> Self {
        let words = p
            .places
            .iter()
            .map(|pl| {
                fold_words(&format!(
                    "{} {} {} {} {}",
                    p.last_name, p.first_name, p.profession_label, pl.specialty_label, pl.city
                ))
            })
            .collect();
        Prepared {
            hash: p.content_hash(),
            name_search: p.name_search(),
            words,
            p,
        }
    }
}

/// The three staging tables' rows for these professionals.
fn rows_of<'a>(batch: &[&'a Prepared]) -> [Rows<'a>; 3] {
    let mut pros = Rows::new("import_professionals", PRO_COLS);
    let mut places = Rows::new("import_places", PLACE_COLS);
    let mut search = Rows::new("import_search", SEARCH_COLS);
    for prep in batch {
        let p = &prep.p;
        pros.cells.extend([
            p.rpps.as_str().into(),
            p.last_name.as_str().into(),
            p.first_name.as_str().into(),
            prep.name_search.as_str().into(),
            p.profession_code.as_str().into(),
            p.profession_label.as_str().into(),
            prep.hash.as_str().into(),
        ]);
        for (i, (pl, words)) in p.places.iter().zip(&prep.words).enumerate() {
            place_cells(&mut places.cells, &p.rpps, i, pl);
            search.cells.extend([
                pl.insee_code.as_deref().unwrap_or("").into(),
                "professional".into(),
                p.rpps.as_str().into(),
                Cell::Int(i as i64),
                p.profession_code.as_str().into(),
                format!("{} {}", p.first_name, p.last_name).into(),
                words.as_str().into(),
            ]);
        }
    }
    [pros, places, search]
}

fn place_cells<'a>(cells: &mut Vec<Cell<'a>>, rpps: &'a str, i: usize, pl: &'a PracticePlace) {
    cells.extend([
        rpps.into(),
        Cell::Int(i as i64),
        pl.specialty_code.as_str().into(),
        pl.specialty_label.as_str().into(),
        pl.mode_code.as_str().into(),
        pl.sector_code.as_str().into(),
        pl.finess_site.as_str().into(),
        pl.siret_site.as_str().into(),
        pl.site_name.as_str().into(),
        pl.address.as_str().into(),
        pl.postal_code.as_str().into(),
        pl.insee_code.as_deref().map_or(Cell::Null, Cell::from),
        pl.city.as_str().into(),
        pl.phone.as_str().into(),
    ]);
}

/// What an import into an empty directory sums as it stages: the directory
/// then holds exactly the staged professionals, so their profession facets
/// per commune and the RPPS professions' supply are known without joining
/// two million places with their professionals in the apply transaction
/// (on a national first import those two joins took 5.5 s of SQLite's
/// 16 s apply, 9.5 s of PostgreSQL's 23 s). The rules are the SQL's:
/// [`PROFESSION_FACETS_INSERT`] (professionals counted once per commune,
/// the largest label) and `domain::diagnosis::rpps_shares` (1/n per
/// eligible place). `rpps_stream::summed_facets_and_supply_equal_the_sql`
/// (tests/it) checks on both backends that both ways give the same rows.
#[derive(Default)]
struct Sums {
    /// Communes, profession codes and labels, each text kept once.
    names: Names,
    /// (commune, profession code) → (largest label, professionals).
    facets: HashMap<(u32, u32), (u32, i64)>,
    /// (commune, profession) → supply.
    supply: HashMap<(u32, Profession), f64>,
}

/// Texts numbered as they come: a national file repeats a few thousand
/// communes and a few dozen professions over millions of rows.
#[derive(Default)]
struct Names {
    ids: HashMap<String, u32>,
    texts: Vec<String>,
}

impl Names {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.texts.push(text.to_owned());
        self.ids.insert(text.to_owned(), id);
        id
    }

    fn text(&self, id: u32) -> &str {
        &self.texts[id as usize]
    }
}

impl Sums {
    fn add(&mut self, p: &Professional) {
        let mut communes: Vec<&str> = p
            .places
            .iter()
            .filter_map(|pl| pl.insee_code.as_deref())
            .collect();
        communes.sort_unstable();
        communes.dedup();
        if !communes.is_empty() {
            let code = self.names.id(&p.profession_code);
            for c in communes {
                let commune = self.names.id(c);
                let names = &mut self.names;
                let (label, n) = self
                    .facets
                    .entry((commune, code))
                    .or_insert_with(|| (names.id(&p.profession_label), 0));
                if names.text(*label) < p.profession_label.as_str() {
                    *label = names.id(&p.profession_label);
                }
                *n += 1;
            }
        }
        for prof in professions_of(true) {
            for (c, share) in rpps_shares(prof, p) {
                let commune = self.names.id(c);
                *self.supply.entry((commune, prof)).or_insert(0.0) += share;
            }
        }
    }

    /// Rows for `directory_facet_counts` and `commune_supply`, in the
    /// order of their keys (appended rather than inserted at random).
    fn rows(&self) -> [Rows<'_>; 2] {
        let name = |id: u32| self.names.text(id);
        let mut facets: Vec<_> = self.facets.iter().collect();
        facets.sort_unstable_by_key(|((commune, code), _)| (name(*commune), name(*code)));
        let mut facet_rows =
            Rows::new("directory_facet_counts", "insee_code, kind, code, label, n");
        for ((commune, code), (label, n)) in facets {
            facet_rows.cells.extend([
                name(*commune).into(),
                PROFESSION.into(),
                name(*code).into(),
                name(*label).into(),
                Cell::Int(*n),
            ]);
        }
        let mut supply: Vec<_> = self.supply.iter().collect();
        supply.sort_unstable_by_key(|((commune, prof), _)| (name(*commune), prof.slug()));
        let mut supply_rows = Rows::new("commune_supply", "insee_code, profession, supply");
        for ((commune, prof), share) in supply {
            supply_rows.cells.extend([
                name(*commune).into(),
                prof.slug().into(),
                Cell::Float(*share),
            ]);
        }
        [facet_rows, supply_rows]
    }
}

/// The import's own connection, where its temporary tables live.
enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// Run `$body` with `$c` the connection of either backend.
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Sqlite($c) => $body,
            Conn::Postgres($c) => $body,
        }
    };
}

/// A stored professional's fingerprint (`content_hash`, 16 characters).
type Print = [u8; 16];

fn print_of(hash: &str) -> Print {
    let mut out = [0u8; 16];
    if hash.len() == 16 {
        out.copy_from_slice(hash.as_bytes());
    }
    out
}

/// One RPPS import under way: see the module's documentation.
pub struct ProfessionalsImport {
    db: Db,
    /// Taken by [`Self::finish`]; an import dropped before (an error, a
    /// killed task) closes it instead of handing it back to the pool: a
    /// `COPY` or statement cut half-way leaves a connection that the next
    /// user could not trust, and its temporary tables go with it.
    conn: Option<Conn>,
    started: chrono::DateTime<Utc>,
    /// What the directory holds and the file has not named yet.
    stored: HashMap<u64, Print>,
    /// Stored identifiers that are not RPPS numbers (none is expected):
    /// removed unless the file names them.
    odd: Vec<String>,
    before: i64,
    added: i64,
    changed: i64,
    /// Identifiers whose stored rows go (changed ones), not staged yet.
    gone: Vec<String>,
    /// Kept while the directory was empty when the import began and no
    /// late row has changed a staged professional ([`Sums`]).
    sums: Option<Sums>,
}

impl ProfessionalsImport {
    /// Read the stored fingerprints and create the staging tables.
    pub async fn begin(db: &Db) -> DbResult<Self> {
        let mut stored = HashMap::new();
        let mut odd = Vec::new();
        let mut after = String::new();
        loop {
            let page: Vec<(String, String)> = db_run!(db, pool => {
                sqlx::query_as(
                    "SELECT rpps, content_hash FROM professionals WHERE rpps > $1 ORDER BY rpps LIMIT $2",
                )
                .bind(&after)
                .bind(PAGE)
                .fetch_all(pool)
                .await?
            });
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            let full = page.len() as i64 == PAGE;
            for (rpps, hash) in page {
                match id_key(&rpps) {
                    Some(key) => {
                        stored.insert(key, print_of(&hash));
                    }
                    None => odd.push(rpps),
                }
            }
            if !full {
                break;
            }
        }
        let before = (stored.len() + odd.len()) as i64;
        let mut conn = match db {
            Db::Sqlite(pool) => Conn::Sqlite(pool.acquire().await?),
            Db::Postgres(pool) => Conn::Postgres(pool.acquire().await?),
        };
        on_conn!(&mut conn, c => {
            let conn = &mut **c;
            stage_tables!(conn, [
                ("import_professionals", "professionals"),
                ("import_places", "practice_places"),
                ("import_search", "directory_search"),
                ("import_gone", ""),
                ("import_touched", ""),
            ]);
        });
        Ok(ProfessionalsImport {
            db: db.clone(),
            conn: Some(conn),
            started: Utc::now(),
            stored,
            odd,
            before,
            added: 0,
            changed: 0,
            gone: Vec::new(),
            sums: (before == 0).then(Sums::default),
        })
    }

    fn conn_mut(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("the connection is only taken when the import ends")
    }

    /// Professionals in the directory when the import started.
    pub fn before(&self) -> i64 {
        self.before
    }

    /// Compare these professionals with the stored ones and stage the new
    /// and changed ones.
    pub async fn stage(&mut self, batch: Vec<Professional>) -> DbResult<()> {
        let batch: Vec<Prepared> = batch.into_iter().map(Prepared::new).collect();
        self.stage_prepared(&batch).await
    }

    /// [`Self::stage`] for professionals already prepared.
    pub async fn stage_prepared(&mut self, batch: &[Prepared]) -> DbResult<()> {
        let mut write = Vec::new();
        for prep in batch {
            let rpps = &prep.p.rpps;
            let stored = match id_key(rpps) {
                Some(key) => self.stored.remove(&key),
                None => self
                    .odd
                    .iter()
                    .position(|o| o == rpps)
                    .map(|i| print_of(&self.odd.swap_remove(i))),
            };
            match stored {
                None => {
                    self.added += 1;
                    write.push(prep);
                }
                Some(h) if h != print_of(&prep.hash) => {
                    self.changed += 1;
                    self.gone.push(rpps.clone());
                    write.push(prep);
                }
                Some(_) => {}
            }
        }
        self.write(&write).await
    }

    async fn write(&mut self, write: &[&Prepared]) -> DbResult<()> {
        self.flush_gone().await?;
        if let Some(sums) = &mut self.sums {
            for prep in write {
                sums.add(&prep.p);
            }
        }
        for rows in rows_of(write) {
            if rows.len() == 0 {
                continue;
            }
            match self.conn_mut() {
                Conn::Sqlite(c) => stage_sqlite(c, &rows).await?,
                Conn::Postgres(c) => stage_postgres(c, &rows).await?,
            }
        }
        Ok(())
    }

    async fn flush_gone(&mut self) -> DbResult<()> {
        if self.gone.is_empty() {
            return Ok(());
        }
        let gone = std::mem::take(&mut self.gone);
        let mut rows = Rows::new("import_gone", "key");
        rows.cells
            .extend(gone.iter().map(|g| Cell::from(g.as_str())));
        match self.conn_mut() {
            Conn::Sqlite(c) => stage_sqlite(c, &rows).await,
            Conn::Postgres(c) => stage_postgres(c, &rows).await,
        }
    }

    /// Merge rows met after their professional was handed over (grouped by
    /// identifier) into the staged or stored professional, and stage the
    /// result again when it differs from the stored one. Returns the
    /// warnings (another name under the same identifier).
    pub async fn merge_late(&mut self, late: &[LateRow]) -> DbResult<Vec<LineError>> {
        self.flush_gone().await?;
        // The staged professionals they change were summed as they were.
        if !late.is_empty() {
            self.sums = None;
        }
        let mut warnings = Vec::new();
        let mut by_id: Vec<(&str, Vec<&LateRow>)> = Vec::new();
        for row in late {
            match by_id.iter_mut().find(|(id, _)| *id == row.rpps) {
                Some((_, rows)) => rows.push(row),
                None => by_id.push((&row.rpps, vec![row])),
            }
        }
        for (rpps, rows) in by_id {
            let stored_hash: Option<String> = on_conn!(self.conn_mut(), c => {
                sqlx::query_scalar("SELECT content_hash FROM professionals WHERE rpps = $1")
                    .bind(rpps)
                    .fetch_optional(&mut **c)
                    .await?
            });
            let staged = self
                .load(rpps, "import_professionals", "import_places")
                .await?;
            let was_staged = staged.is_some();
            let base = match staged {
                Some(p) => Some(p),
                None => self.load(rpps, "professionals", "practice_places").await?,
            };
            let Some(mut p) = base else { continue };
            for row in rows {
                merge_late(&mut p, row, &mut warnings);
            }
            if was_staged {
                on_conn!(self.conn_mut(), c => {
                    sqlx::query("DELETE FROM import_professionals WHERE rpps = $1").bind(rpps).execute(&mut **c).await?;
                    sqlx::query("DELETE FROM import_places WHERE rpps = $1").bind(rpps).execute(&mut **c).await?;
                    sqlx::query("DELETE FROM import_search WHERE id = $1").bind(rpps).execute(&mut **c).await?;
                });
            }
            let prep = Prepared::new(p);
            match stored_hash {
                None => self.write(&[&prep]).await?,
                Some(h) if h == prep.hash => {
                    if was_staged {
                        self.changed -= 1;
                        on_conn!(self.conn_mut(), c => {
                            sqlx::query("DELETE FROM import_gone WHERE key = $1").bind(rpps).execute(&mut **c).await?;
                        });
                    }
                }
                Some(_) => {
                    if !was_staged {
                        self.changed += 1;
                        self.gone.push(rpps.to_owned());
                    }
                    self.write(&[&prep]).await?;
                }
            }
        }
        Ok(warnings)
    }

    /// A professional as staged or stored (`pros` and `places` name the
    /// tables).
    async fn load(
        &mut self,
        rpps: &str,
        pros: &str,
        places: &str,
    ) -> DbResult<Option<Professional>> {
        type Head = (String, String, String, String);
        type Place = (
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            String,
        );
        let head_sql = format!(
            "SELECT last_name, first_name, profession_code, profession_label FROM {pros} WHERE rpps = $1"
        );
        let places_sql = format!(
            "SELECT specialty_code, specialty_label, mode_code, sector_code, finess_site, siret_site, \
             site_name, address, postal_code, insee_code, city, phone FROM {places} WHERE rpps = $1 ORDER BY position"
        );
        let (head, rows): (Option<Head>, Vec<Place>) = on_conn!(self.conn_mut(), c => {
            let head = sqlx::query_as(&head_sql).bind(rpps).fetch_optional(&mut **c).await?;
            let rows = sqlx::query_as(&places_sql).bind(rpps).fetch_all(&mut **c).await?;
            (head, rows)
        });
        Ok(head.map(
            |(last_name, first_name, profession_code, profession_label)| Professional {
                rpps: rpps.to_owned(),
                last_name,
                first_name,
                profession_code,
                profession_label,
                places: rows
                    .into_iter()
                    .map(|r| PracticePlace {
                        specialty_code: r.0,
                        specialty_label: r.1,
                        mode_code: r.2,
                        sector_code: r.3,
                        finess_site: r.4,
                        siret_site: r.5,
                        site_name: r.6,
                        address: r.7,
                        postal_code: r.8,
                        insee_code: r.9,
                        city: r.10,
                        phone: r.11,
                    })
                    .collect(),
            },
        ))
    }

    /// Apply what was staged in one transaction: the professionals not in
    /// the file and the changed ones go, the new and changed ones come
    /// with their places and search rows, the facets of the communes
    /// touched and the diagnosis' supply follow, and the import is
    /// recorded. `total` is the number of professionals in the file.
    pub async fn finish(
        mut self,
        total: i64,
        skipped: i64,
        report: &str,
        progress: Progress<'_>,
    ) -> DbResult<ImportSummary> {
        let removed = (self.stored.len() + self.odd.len()) as i64;
        let mut gone: Vec<String> = self.stored.keys().map(|k| id_of_key(*k)).collect();
        gone.append(&mut self.odd);
        self.stored = HashMap::new();
        self.gone.append(&mut gone);
        self.flush_gone().await?;
        let summary = ImportSummary {
            source: "rpps".into(),
            file_date: String::new(),
            total,
            added: self.added,
            changed: self.changed,
            removed,
            skipped,
        };
        progress("application", 0, 1);
        let unchanged = summary.added + summary.changed + summary.removed == 0;
        // Filling an empty directory with many rows (see `REBUILT_SQLITE`).
        let bulk = self.before == 0 && self.added >= BULK_FROM;
        let sqlite = matches!(self.db, Db::Sqlite(_));
        let started = self.started;
        let sums = self.sums.take();
        let professions = professions_of(true);
        on_conn!(self.conn_mut(), c => {
            let conn = &mut **c;
            let begin = if sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
            let mut tx = sqlx::Connection::begin_with(&mut *conn, begin).await?;
            serialise_imports!(tx, sqlite);
            if !sqlite {
                // Sorts and hashes over two million rows in memory rather
                // than in temporary files; index builds likewise (for this
                // transaction only).
                sqlx::query("SET LOCAL work_mem = '128MB'").execute(&mut *tx).await?;
                sqlx::query("SET LOCAL maintenance_work_mem = '512MB'").execute(&mut *tx).await?;
            }
            // A file identical to the directory changes nothing: only the
            // import is recorded.
            if unchanged {
                record_import!(tx, summary, started, report);
                tx.commit().await?;
            } else {
                // The communes whose facets change: those of the places removed
                // (with their professional) and of the places written (summed
                // instead when the directory was empty: every commune).
                if sums.is_none() {
                    sqlx::query(
                        "INSERT INTO import_touched (key) SELECT insee_code FROM practice_places WHERE insee_code IS NOT NULL \
                         AND rpps IN (SELECT key FROM import_gone) \
                         UNION SELECT insee_code FROM import_places WHERE insee_code IS NOT NULL",
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("DELETE FROM practice_places WHERE rpps IN (SELECT key FROM import_gone)")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM professionals WHERE rpps IN (SELECT key FROM import_gone)")
                    .execute(&mut *tx)
                    .await?;
                // An empty directory filled: indexes and the foreign key
                // made once the rows are in (on PostgreSQL this locks the
                // two tables until the commit; they were empty).
                let rebuilt = match (bulk, sqlite) {
                    (false, _) => &[][..],
                    (true, true) => REBUILT_SQLITE,
                    (true, false) => REBUILT_POSTGRES,
                };
                for (drop, _) in rebuilt {
                    sqlx::query(drop).execute(&mut *tx).await?;
                }
                sqlx::query(&format!(
                    "INSERT INTO professionals ({PRO_COLS}) SELECT {PRO_COLS} FROM import_professionals"
                ))
                .execute(&mut *tx)
                .await?;
                sqlx::query(&format!(
                    "INSERT INTO practice_places ({PLACE_COLS}) SELECT {PLACE_COLS} FROM import_places"
                ))
                .execute(&mut *tx)
                .await?;
                // The diagnosis' supply per commune and the facets follow the
                // professionals.
                match &sums {
                    Some(sums) => {
                        sqlx::query(&supply_delete_sql(&professions)).execute(&mut *tx).await?;
                        sqlx::query("DELETE FROM directory_facet_counts WHERE kind = $1")
                            .bind(PROFESSION)
                            .execute(&mut *tx)
                            .await?;
                        for rows in sums.rows() {
                            (*tx).stage(&rows).await?;
                        }
                    }
                    None => {
                        if bulk && !sqlite {
                            // Tables that were empty: without statistics
                            // PostgreSQL would plan these joins for a few rows.
                            sqlx::query("ANALYZE professionals, practice_places").execute(&mut *tx).await?;
                        }
                        refresh_in!(tx, professions, !sqlite);
                        sqlx::query(FACETS_DELETE).bind(PROFESSION).execute(&mut *tx).await?;
                        sqlx::query(PROFESSION_FACETS_INSERT).execute(&mut *tx).await?;
                    }
                }
                sqlx::query(
                    "DELETE FROM directory_search WHERE kind = 'professional' AND id IN (SELECT key FROM import_gone)",
                )
                .execute(&mut *tx)
                .await?;
                // In the search table's key order: SQLite's table is stored by
                // that key, and appending is cheaper than inserting at random;
                // PostgreSQL's primary key is (kind, id, position), unless it
                // is made after the rows (bulk), when sorting is wasted.
                let order = match (sqlite, bulk) {
                    (true, _) => " ORDER BY insee_code, kind, id, position",
                    (false, false) => " ORDER BY kind, id, position",
                    (false, true) => "",
                };
                sqlx::query(&format!(
                    "INSERT INTO directory_search ({SEARCH_COLS}) SELECT {SEARCH_COLS} FROM import_search{order}"
                ))
                .execute(&mut *tx)
                .await?;
                for (_, create) in rebuilt {
                    sqlx::query(create).execute(&mut *tx).await?;
                }
                record_import!(tx, summary, started, report);
                tx.commit().await?;
            }
            drop_staged!(conn, [
                "import_professionals",
                "import_places",
                "import_search",
                "import_gone",
                "import_touched",
            ]);
        });
        progress("application", 1, 1);
        // Applied: the connection goes back to the pool (see `conn`).
        drop(self.conn.take());
        if !unchanged {
            super::directory::analyze(
                &self.db,
                &[
                    &["professionals", "practice_places"][..],
                    &super::directory::DERIVED_TABLES[..],
                ]
                .concat(),
            )
            .await?;
        }
        Ok(summary)
    }
}

impl Drop for ProfessionalsImport {
    fn drop(&mut self) {
        match self.conn.take() {
            Some(Conn::Sqlite(c)) => drop(c.detach()),
            Some(Conn::Postgres(c)) => drop(c.detach()),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_round_trip() {
        let p = Professional {
            rpps: "810000000001".into(),
            ..Default::default()
        };
        let h = p.content_hash();
        assert_eq!(h.len(), 16);
        assert_eq!(print_of(&h), print_of(&p.content_hash()));
        assert_ne!(print_of(&h), print_of("0123456789abcdef"));
        assert_eq!(id_of_key(id_key("010000000001").unwrap()), "010000000001");
        assert_eq!(id_of_key(id_key("10000000001").unwrap()), "10000000001");
        assert_ne!(id_key("010000000001"), id_key("10000000001"));
    }
}
