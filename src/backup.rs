//! A consistent copy of the database while the server runs: `VACUUM INTO`
//! for SQLite, `pg_dump` (custom format) for PostgreSQL.

use std::path::{Path, PathBuf};

use chrono::Utc;

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
