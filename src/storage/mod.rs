//! Storage: one neutral API over SQLite and PostgreSQL.
//!
//! Each backend has its own pool and its own migrations (`migrations/sqlite`,
//! `migrations/postgres`). Query text is shared wherever both dialects agree
//! (`$N` placeholders, `RETURNING`, `ON CONFLICT`), and [`db_run!`] dispatches
//! one block of code to whichever pool is in use. We avoid the sqlx `Any`
//! driver and code generic over `sqlx::Database` on purpose (see STYLE.md).
//!
//! Rules that keep both backends equal:
//! - timestamps are always bound from Rust (`Utc::now()`), never computed in SQL;
//! - booleans are bound as Rust `bool`;
//! - ids are `i64`.

pub mod actions;
pub mod activity;
pub mod agenda;
pub mod appraisal;
pub mod audit;
pub mod care_supply;
pub mod communes;
pub mod contract;
pub mod diagnosis;
pub mod directory;
pub mod documents;
pub mod geo_reference;
pub mod indicators;
pub mod invitations;
pub mod jobs;
pub mod mediation;
pub mod messages;
pub mod participation;
pub mod partners;
pub mod professionals_import;
pub mod proposals;
pub mod public_pages;
pub mod rate_limit;
pub mod referrals;
pub mod region;
pub mod reviews;
pub mod services;
pub mod sessions;
pub mod settings;
pub mod shared_indicators;
mod sqlite_memory;
pub use sqlite_memory::uses_process_allocator;
mod sqlite_rows;
pub mod staging;
pub mod territories;
pub mod todo;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Run the same block against whichever backend `$db` holds.
///
/// ```text
/// db_run!(db, pool => sqlx::query("SELECT 1").execute(pool).await)
/// ```
#[macro_export]
macro_rules! db_run {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::storage::Db::Sqlite($pool) => {
                #[allow(unused_imports)]
                use $crate::storage::BeginWrite as _;
                $body
            }
            $crate::storage::Db::Postgres($pool) => {
                #[allow(unused_imports)]
                use $crate::storage::BeginWrite as _;
                $body
            }
        }
    };
}

/// Open a transaction that will write. On SQLite it takes the write lock
/// at once (`BEGIN IMMEDIATE`): a deferred transaction that reads and then
/// writes fails with « database is locked » when another writer got in
/// between, whatever the busy timeout. PostgreSQL needs nothing special.
pub trait BeginWrite {
    type Database: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = Result<sqlx::Transaction<'static, Self::Database>, sqlx::Error>,
    > + Send;
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error>,
    > + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>,
    > + Send {
        self.begin()
    }
}

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The `VALUES` rows of a multi-row `INSERT`: `(?, ?), (?, ?)` on SQLite,
/// `($1, $2), ($3, $4)` on PostgreSQL. sqlx binds SQLite's numbered
/// parameters by name, one lookup per parameter, which made a 300-row
/// insert of 20 columns 17 times slower than with anonymous ones.
pub(crate) fn placeholders(backend: Backend, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            match backend {
                Backend::Sqlite => s.push('?'),
                Backend::Postgres => s.push_str(&format!("${}", r * cols + c + 1)),
            }
        }
        s.push(')');
    }
    s
}

/// Errors of the storage layer. Web code maps them to HTTP once (`web::error`).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or foreign-key constraint refused the write; the string
    /// names the constraint or the column when the backend tells it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Optimistic concurrency: someone else saved the row first.
    #[error("stale version")]
    Stale,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => DbError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() || d.is_foreign_key_violation() => {
                let what = d
                    .constraint()
                    .map(str::to_owned)
                    .unwrap_or_else(|| d.message().to_owned());
                DbError::Conflict(what)
            }
            _ => DbError::Other(anyhow::Error::new(e)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for DbError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        DbError::Other(anyhow::Error::new(e))
    }
}

pub type DbResult<T> = Result<T, DbError>;

/// A PostgreSQL connection idle this long is pinged before it is handed
/// out (and replaced if the server has gone).
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(5);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// A healthy database (see [`Db::health`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    /// Migrations this binary carries, all applied.
    pub migrations: usize,
    /// The latest of them.
    pub latest: i64,
    /// Migrations applied that this binary does not know (a newer version ran).
    pub unknown: usize,
}

impl Db {
    /// Connect from a URL: `sqlite://file.db` (created if missing) or
    /// `postgres://…` / `postgresql://…`.
    pub async fn connect(url: &str) -> DbResult<Db> {
        Db::connect_with(url, true).await
    }

    /// Connect; a missing SQLite file is created only when
    /// `create_if_missing`, otherwise refused (« base introuvable »).
    /// A PostgreSQL server that refuses the connection is reported at once
    /// (a pool would retry until its acquire timeout).
    pub async fn connect_with(url: &str, create_if_missing: bool) -> DbResult<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).map_err(DbError::from)?;
            {
                use sqlx::Connection as _;
                match sqlx::PgConnection::connect_with(&opts).await {
                    Ok(conn) => {
                        let _ = conn.close().await;
                    }
                    Err(sqlx::Error::Io(e)) => {
                        let place = format!("{}:{}", opts.get_host(), opts.get_port());
                        return Err(DbError::Other(match e.kind() {
                            std::io::ErrorKind::ConnectionRefused => {
                                anyhow::anyhow!("connexion refusée : {place}")
                            }
                            _ => anyhow::anyhow!("{place} : {e}"),
                        }));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            // A connection idle for a while is pinged before use (the
            // server may have restarted or closed it); a busy one is not:
            // sqlx's default pings on every acquire, a round trip to the
            // server before each statement.
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        use sqlx::Connection as _;
                        if meta.idle_for >= PING_WHEN_IDLE_FOR {
                            conn.ping().await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url).map_err(DbError::from)?;
            let file = opts.get_filename();
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            if !create_if_missing && !in_memory && !file.exists() {
                return Err(DbError::Other(anyhow::anyhow!(
                    "base introuvable : {} (lancez d'abord `maillage migrate`)",
                    file.display()
                )));
            }
            sqlite_memory::use_process_allocator();
            let opts = opts
                .create_if_missing(create_if_missing)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            // The connection is this process's own (a thread of sqlx's):
            // nothing to ping before use, which would cost two thread
            // hand-offs per statement.
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .test_before_acquire(false)
                .connect_with(opts)
                .await?;
            Ok(Db::Sqlite(pool))
        } else {
            Err(DbError::Other(anyhow::anyhow!(
                "URL de base de données non reconnue (sqlite://… ou postgres://…) : {url}"
            )))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Apply the pending migrations of this backend.
    pub async fn migrate(&self) -> DbResult<()> {
        self.migrate_reporting().await.map(|_| ())
    }

    /// Apply the pending migrations; returns the ones applied
    /// (`version description`), empty when the base was up to date.
    pub async fn migrate_reporting(&self) -> DbResult<Vec<String>> {
        use sqlx::migrate::Migrate as _;
        let migrator = self.migrator();
        let applied: std::collections::HashSet<i64> = db_run!(self, pool => {
            let mut conn = pool.acquire().await?;
            conn.ensure_migrations_table().await?;
            conn.list_applied_migrations().await?
        })
        .into_iter()
        .map(|m| m.version)
        .collect();
        let pending = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
            .map(|m| format!("{} {}", m.version, m.description))
            .collect();
        db_run!(self, pool => migrator.run(pool).await?);
        Ok(pending)
    }

    /// The migrations this binary carries.
    pub fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self {
            Db::Sqlite(_) => &SQLITE_MIGRATIONS,
            Db::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// Is the database reachable (a trivial query), and has it every
    /// migration this binary carries? For `GET /healthz`.
    pub async fn health(&self) -> Result<Health, String> {
        db_run!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
            .map_err(|e| format!("base de données injoignable : {e}"))?;
        let applied: Vec<(i64, bool)> = db_run!(self, pool =>
            sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
                .fetch_all(pool)
                .await)
        .unwrap_or_default();
        let done: std::collections::HashSet<i64> = applied
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(v, _)| *v)
            .collect();
        let expected: Vec<i64> = self
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| m.version)
            .collect();
        let missing: Vec<i64> = expected
            .iter()
            .copied()
            .filter(|v| !done.contains(v))
            .collect();
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|v| format!("{v:04}")).collect();
            return Err(format!(
                "migrations non appliquées : {} (lancez « maillage migrate »)",
                list.join(", ")
            ));
        }
        Ok(Health {
            migrations: expected.len(),
            latest: expected.last().copied().unwrap_or(0),
            unknown: done.iter().filter(|v| !expected.contains(v)).count(),
        })
    }

    pub async fn close(&self) {
        db_run!(self, pool => pool.close().await)
    }
}
