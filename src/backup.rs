//! A consistent copy of the database while the server runs: `VACUUM INTO`
//! for SQLite, `pg_dump` (custom format) for PostgreSQL; and putting one
//! back (`maillage restore`).

use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::config::redact_url;
use crate::storage::Db;

pub fn default_path(db: &Db) -> PathBuf {
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    match db {
        Db::Sqlite(_) => PathBuf::from(format!("backups/maillage-{stamp}.db")),
        Db::Postgres(_) => PathBuf::from(format!("backups/maillage-{stamp}.dump")),
    }
}

pub async fn run(db: &Db, database_url: &str, out: &Path) -> anyhow::Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir).await?;
    }
    if out.exists() {
        anyhow::bail!("{} existe déjà : choisissez un autre nom", out.display());
    }
    match db {
        Db::Sqlite(pool) => {
            let target = out
                .to_str()
                .ok_or_else(|| anyhow::anyhow!("chemin non UTF-8"))?;
            sqlx::query("VACUUM INTO $1")
                .bind(target)
                .execute(pool)
                .await?;
        }
        Db::Postgres(_) => {
            let status = tokio::process::Command::new("pg_dump")
                .arg("--format=custom")
                .arg("--file")
                .arg(out)
                .arg(database_url)
                .status()
                .await
                .map_err(|e| anyhow::anyhow!("pg_dump introuvable ou impossible à lancer ({e}) : installez postgresql-client"))?;
            if !status.success() {
                anyhow::bail!("pg_dump a échoué ({status})");
            }
        }
    }
    Ok(())
}

/// Put a backup made by [`run`] back: into the SQLite file of
/// `database_url`, or into the PostgreSQL database it names. The target must
/// be missing or empty unless `force` (then its contents are replaced). Stop
/// the servers first. The restored database is then migrated, so a copy
/// made by an older version comes back up to date.
pub async fn restore(database_url: &str, file: &Path, force: bool) -> anyhow::Result<()> {
    let meta = std::fs::metadata(file).map_err(|e| anyhow::anyhow!("{} : {e}", file.display()))?;
    if !meta.is_file() || meta.len() == 0 {
        anyhow::bail!("{} n'est pas une copie de sauvegarde", file.display());
    }
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        restore_postgres(database_url, file, force).await?;
    } else if database_url.starts_with("sqlite:") {
        restore_sqlite(database_url, file, force).await?;
    } else {
        anyhow::bail!("URL de base de données non reconnue (sqlite://… ou postgres://…)");
    }
    let db = Db::connect(database_url).await?;
    let migrated = db.migrate().await;
    db.close().await;
    migrated?;
    Ok(())
}

/// `sqlite://dir/file.db?mode=rwc` → `dir/file.db`.
pub fn sqlite_path(database_url: &str) -> anyhow::Result<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .ok_or_else(|| anyhow::anyhow!("URL SQLite attendue"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        anyhow::bail!("la restauration demande un fichier SQLite");
    }
    Ok(PathBuf::from(path))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

async fn restore_sqlite(database_url: &str, file: &Path, force: bool) -> anyhow::Result<()> {
    let target = sqlite_path(database_url)?;
    if std::fs::metadata(&target).is_ok_and(|m| m.len() > 0) && !force {
        anyhow::bail!(
            "{} existe et n'est pas vide : ajoutez --force pour le remplacer (serveurs arrêtés)",
            target.display()
        );
    }
    // Check the copy before touching anything: a readable SQLite database
    // that Maillage made.
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(file)
            .read_only(true);
        let mut conn = sqlx::ConnectOptions::connect(&opts).await.map_err(|e| {
            anyhow::anyhow!("{} : pas une base SQLite lisible ({e})", file.display())
        })?;
        let check: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| {
                anyhow::anyhow!("{} : pas une base SQLite lisible ({e})", file.display())
            })?;
        if check != "ok" {
            anyhow::bail!("{} est endommagé : {check}", file.display());
        }
        let ours: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&mut conn)
        .await?;
        sqlx::Connection::close(conn).await?;
        if ours == 0 {
            anyhow::bail!("{} n'est pas une sauvegarde de Maillage", file.display());
        }
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // Copy next to the target, flush it to disk, then rename over the
    // target: a crash leaves either the old database or the new one.
    let tmp = with_suffix(&target, ".restauration");
    std::fs::copy(file, &tmp).map_err(|e| anyhow::anyhow!("copie vers {} : {e}", tmp.display()))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    // The old database's journal must not be replayed onto the new one.
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = with_suffix(&target, suffix);
        if side.exists() {
            std::fs::remove_file(&side).map_err(|e| anyhow::anyhow!("{} : {e}", side.display()))?;
        }
    }
    std::fs::rename(&tmp, &target)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

async fn restore_postgres(database_url: &str, file: &Path, force: bool) -> anyhow::Result<()> {
    let db = Db::connect(database_url).await?;
    let Db::Postgres(pool) = &db else {
        unreachable!("postgres URL")
    };
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(pool)
    .await?;
    db.close().await;
    if tables > 0 && !force {
        anyhow::bail!(
            "la base {} n'est pas vide ({tables} tables) : restaurez dans une base neuve, ou ajoutez --force pour la remplacer (serveurs arrêtés)",
            redact_url(database_url)
        );
    }
    let mut head = [0u8; 5];
    {
        use std::io::Read;
        let _ = std::fs::File::open(file)?.read(&mut head)?;
    }
    let mut cmd = if &head == b"PGDMP" {
        // The custom format of `maillage backup`.
        let mut c = tokio::process::Command::new("pg_restore");
        c.args([
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
        ]);
        if tables > 0 {
            c.args(["--clean", "--if-exists"]);
        }
        c.arg("--dbname").arg(database_url).arg(file);
        c
    } else {
        // A plain SQL dump (pg_dump without --format).
        if tables > 0 {
            anyhow::bail!("une sauvegarde SQL simple ne se restaure que dans une base vide");
        }
        let mut c = tokio::process::Command::new("psql");
        c.args([
            "--quiet",
            "--no-psqlrc",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
        ])
        .arg("--file")
        .arg(file)
        .arg(database_url);
        c
    };
    let program = if &head == b"PGDMP" {
        "pg_restore"
    } else {
        "psql"
    };
    let status = cmd.status().await.map_err(|e| {
        anyhow::anyhow!(
            "{program} introuvable ou impossible à lancer ({e}) : installez postgresql-client"
        )
    })?;
    if !status.success() {
        anyhow::bail!("{program} a échoué ({status}) : la base n'a pas été modifiée");
    }
    Ok(())
}
