//! Staging rows for an import in temporary tables of its own connection,
//! in bulk: multi-row prepared `INSERT`s on SQLite, `COPY … FROM STDIN` on
//! PostgreSQL. The RPPS and FINESS imports stage here, then apply the
//! staged rows set-based in one transaction (see `directory::stage_tables!`);
//! the diagnosis writes its national accessibility table the same way,
//! inside its own transaction.

use std::borrow::Cow;

use super::DbResult;

/// Rows per staging `INSERT` on SQLite (20 columns × 500 stays far below
/// its 32,766 bound variables); full chunks reuse one prepared statement.
const SQLITE_ROWS: usize = 500;

/// A value of a staged row.
pub(crate) enum Cell<'a> {
    Text(Cow<'a, str>),
    Null,
    Int(i64),
    /// Finite (coordinates).
    Float(f64),
}

impl<'a> From<Option<&'a str>> for Cell<'a> {
    fn from(s: Option<&'a str>) -> Self {
        s.map_or(Cell::Null, Cell::from)
    }
}

impl From<Option<f64>> for Cell<'_> {
    fn from(x: Option<f64>) -> Self {
        x.filter(|x| x.is_finite()).map_or(Cell::Null, Cell::Float)
    }
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(s: &'a str) -> Self {
        Cell::Text(Cow::Borrowed(s))
    }
}

impl From<String> for Cell<'_> {
    fn from(s: String) -> Self {
        Cell::Text(Cow::Owned(s))
    }
}

/// Rows of one staging table, flattened.
pub(crate) struct Rows<'a> {
    table: &'static str,
    cols: &'static str,
    width: usize,
    pub(crate) cells: Vec<Cell<'a>>,
}

impl<'a> Rows<'a> {
    pub(crate) fn new(table: &'static str, cols: &'static str) -> Self {
        Rows {
            table,
            cols,
            width: cols.split(',').count(),
            cells: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.cells.len() / self.width
    }
}

/// Append one field in PostgreSQL's `COPY` text format.
fn copy_field(out: &mut Vec<u8>, cell: &Cell<'_>) {
    match cell {
        Cell::Null => out.extend_from_slice(b"\\N"),
        Cell::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        // Rust's shortest round-trip form, never an exponent: PostgreSQL
        // reads it back to the same double.
        Cell::Float(x) => out.extend_from_slice(x.to_string().as_bytes()),
        Cell::Text(s) => {
            for b in s.bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    _ => out.push(b),
                }
            }
        }
    }
}

/// The statement inserting `n` rows into `rows`' table.
fn insert_sql(rows: &Rows<'_>, n: usize) -> String {
    let one = format!("({})", vec!["?"; rows.width].join(", "));
    format!(
        "INSERT INTO {} ({}) VALUES {}",
        rows.table,
        rows.cols,
        vec![one; n].join(", ")
    )
}

/// The statement of a full chunk ([`SQLITE_ROWS`] rows), written once per
/// table: an import stages thousands of chunks, and the text of each is
/// tens of kilobytes.
fn full_chunk_sql(rows: &Rows<'_>) -> std::sync::Arc<str> {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};
    type Key = (&'static str, &'static str);
    static SQL: LazyLock<Mutex<HashMap<Key, Arc<str>>>> = LazyLock::new(Default::default);
    let mut cache = SQL.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry((rows.table, rows.cols))
        .or_insert_with(|| insert_sql(rows, SQLITE_ROWS).into())
        .clone()
}

/// Append `rows` to their temporary table on SQLite.
pub(crate) async fn stage_sqlite(
    conn: &mut sqlx::SqliteConnection,
    rows: &Rows<'_>,
) -> DbResult<()> {
    for chunk in rows.cells.chunks(SQLITE_ROWS * rows.width) {
        let n = chunk.len() / rows.width;
        let sql: std::sync::Arc<str> = if n == SQLITE_ROWS {
            full_chunk_sql(rows)
        } else {
            insert_sql(rows, n).into()
        };
        let mut q = sqlx::query(&sql);
        for cell in chunk {
            q = match cell {
                Cell::Text(s) => q.bind(s.as_ref()),
                Cell::Null => q.bind(None::<&str>),
                Cell::Int(i) => q.bind(*i),
                Cell::Float(x) => q.bind(*x),
            };
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Append `rows` to their temporary table on PostgreSQL, in one `COPY`.
pub(crate) async fn stage_postgres(conn: &mut sqlx::PgConnection, rows: &Rows<'_>) -> DbResult<()> {
    if rows.cells.is_empty() {
        return Ok(());
    }
    let mut data = Vec::with_capacity(rows.cells.len() * 12);
    for row in rows.cells.chunks(rows.width) {
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                data.push(b'\t');
            }
            copy_field(&mut data, cell);
        }
        data.push(b'\n');
    }
    let mut copy = conn
        .copy_in_raw(&format!("COPY {} ({}) FROM STDIN", rows.table, rows.cols))
        .await?;
    copy.send(data).await?;
    copy.finish().await?;
    Ok(())
}

/// Staging on a connection of either backend, so that code written once
/// for both (inside `db_run!`) can stage.
pub(crate) trait Stage {
    fn stage(&mut self, rows: &Rows<'_>) -> impl std::future::Future<Output = DbResult<()>> + Send;
}

impl Stage for sqlx::SqliteConnection {
    fn stage(&mut self, rows: &Rows<'_>) -> impl std::future::Future<Output = DbResult<()>> + Send {
        stage_sqlite(self, rows)
    }
}

impl Stage for sqlx::PgConnection {
    fn stage(&mut self, rows: &Rows<'_>) -> impl std::future::Future<Output = DbResult<()>> + Send {
        stage_postgres(self, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_fields_are_escaped() {
        let mut out = Vec::new();
        copy_field(&mut out, &Cell::from("a\\b\tc\nd\re"));
        out.push(b'|');
        copy_field(&mut out, &Cell::Null);
        out.push(b'|');
        copy_field(&mut out, &Cell::Int(-3));
        out.push(b'|');
        copy_field(&mut out, &Cell::from(Some(2.35e-7)));
        out.push(b'|');
        copy_field(&mut out, &Cell::from(Some(f64::NAN)));
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re|\\N|-3|0.000000235|\\N");
    }
}
