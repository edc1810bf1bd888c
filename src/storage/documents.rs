//! Attached documents of a contract or an action. The metadata is a row of
//! `documents`; the bytes are kept by a [`Store`]: in the database (the
//! default: backups hold everything, several processes share it) or on disk
//! (`MAILLAGE_DOCUMENT_DIR`, which every process must share).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::audit::Actor;
use super::contract::Contract;
use super::{Db, DbError, DbResult};
use crate::domain::document::DocumentKind;
use crate::{audit, db_run};

/// Where document bytes live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    Database,
    Disk(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Document {
    pub id: i64,
    pub territory_id: i64,
    pub contract_id: i64,
    pub action_id: Option<i64>,
    pub title: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
    pub uploaded_at: DateTime<Utc>,
    pub uploaded_by: String,
    pub public: bool,
}

const COLS: &str = "id, territory_id, contract_id, action_id, title, file_name, media_type, size, \
                    sha256, storage_key, uploaded_at, uploaded_by, public";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn disk_path(dir: &std::path::Path, key: &str) -> DbResult<PathBuf> {
    // Keys are ours (hex), but never let one leave the directory.
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(DbError::Other(anyhow::anyhow!("bad document key")));
    }
    Ok(dir.join(key))
}

/// A new random storage key (hex).
pub fn new_key() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex(&b)
}

/// The SHA-256 of some bytes, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

impl Store {
    /// Keep `bytes` under `key` before the row is written: on disk, write the
    /// file and return `None`; in the database, hand the bytes back for the
    /// row's `content` column.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> DbResult<Option<Vec<u8>>> {
        match self {
            Store::Database => Ok(Some(bytes)),
            Store::Disk(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| DbError::Other(e.into()))?;
                tokio::fs::write(disk_path(dir, key)?, &bytes)
                    .await
                    .map_err(|e| DbError::Other(e.into()))?;
                Ok(None)
            }
        }
    }

    /// The bytes under `key`: the row's `content` when it has one, else the
    /// file on disk.
    pub async fn get(&self, key: &str, in_row: Option<Vec<u8>>) -> DbResult<Vec<u8>> {
        if let Some(b) = in_row {
            return Ok(b);
        }
        match self {
            Store::Disk(dir) => tokio::fs::read(disk_path(dir, key)?)
                .await
                .map_err(|e| DbError::Other(e.into())),
            Store::Database => Err(DbError::NotFound),
        }
    }

    /// Forget the file under `key` (after its row is gone; a missing file is
    /// not an error).
    pub async fn remove(&self, key: &str) {
        if let Store::Disk(dir) = self {
            if let Ok(p) = disk_path(dir, key) {
                let _ = tokio::fs::remove_file(p).await;
            }
        }
    }
}

/// Store a checked document. On disk, the file is written first and removed
/// again if the row cannot be written.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    db: &Db,
    store: &Store,
    actor: &Actor,
    contract: &Contract,
    action_id: Option<i64>,
    title: &str,
    file_name: &str,
    kind: DocumentKind,
    public: bool,
    bytes: Vec<u8>,
) -> DbResult<Document> {
    let sha = sha256_hex(&bytes);
    let key = new_key();
    let size = bytes.len() as i64;
    let content = store.put(&key, bytes).await?;
    let sql = format!(
        "INSERT INTO documents (territory_id, contract_id, action_id, title, file_name, media_type, size, sha256, \
         storage_key, content, uploaded_at, uploaded_by, public) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         RETURNING {COLS}"
    );
    let result: DbResult<Document> = async {
        Ok(db_run!(db, pool => {
            let mut tx = pool.begin_write().await?;
            if let Some(a) = action_id {
                let ok: Option<i64> = sqlx::query_scalar("SELECT id FROM actions WHERE id = $1 AND contract_id = $2")
                    .bind(a).bind(contract.id).fetch_optional(&mut *tx).await?;
                if ok.is_none() {
                    return Err(DbError::NotFound);
                }
            }
            let row = sqlx::query_as::<_, Document>(&sql)
                .bind(contract.territory_id)
                .bind(contract.id)
                .bind(action_id)
                .bind(title)
                .bind(file_name)
                .bind(kind.media_type())
                .bind(size)
                .bind(&sha)
                .bind(&key)
                .bind(content.as_deref())
                .bind(Utc::now())
                .bind(&actor.label)
                .bind(public)
                .fetch_one(&mut *tx)
                .await?;
            let (entity, id) = match action_id { Some(a) => ("action", a), None => ("contract", contract.id) };
            audit!(tx, actor, Some(contract.territory_id), entity, id, "document", format!("Document « {title} » ajouté"))?;
            tx.commit().await?;
            row
        }))
    }
    .await;
    if result.is_err() {
        store.remove(&key).await;
    }
    result
}

/// The documents of a contract and of its actions.
pub async fn for_contract(db: &Db, contract_id: i64) -> DbResult<Vec<Document>> {
    let sql =
        format!("SELECT {COLS} FROM documents WHERE contract_id = $1 ORDER BY uploaded_at, id");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Document>(&sql)
        .bind(contract_id)
        .fetch_all(pool)
        .await?))
}

pub async fn get(db: &Db, territory_id: i64, id: i64) -> DbResult<Option<Document>> {
    let sql = format!("SELECT {COLS} FROM documents WHERE id = $1 AND territory_id = $2");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Document>(&sql)
        .bind(id)
        .bind(territory_id)
        .fetch_optional(pool)
        .await?))
}

/// The bytes of a document, wherever they are kept.
pub async fn content(db: &Db, store: &Store, doc: &Document) -> DbResult<Vec<u8>> {
    let in_db: Option<Vec<u8>> = db_run!(db, pool => sqlx::query_scalar(
        "SELECT content FROM documents WHERE id = $1",
    )
    .bind(doc.id)
    .fetch_optional(pool)
    .await?)
    .flatten();
    store.get(&doc.storage_key, in_db).await
}

pub async fn delete(
    db: &Db,
    store: &Store,
    actor: &Actor,
    territory_id: i64,
    id: i64,
) -> DbResult<()> {
    let doc = get(db, territory_id, id).await?.ok_or(DbError::NotFound)?;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM documents WHERE id = $1").bind(id).execute(&mut *tx).await?;
        let (entity, eid) = match doc.action_id { Some(a) => ("action", a), None => ("contract", doc.contract_id) };
        audit!(tx, actor, Some(territory_id), entity, eid, "document", format!("Document « {} » supprimé", doc.title))?;
        tx.commit().await?;
    });
    store.remove(&doc.storage_key).await;
    Ok(())
}
