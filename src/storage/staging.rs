//! Staging rows for an import in temporary tables of its own connection,
//! in bulk: a prepared row `INSERT` stepped through SQLite's C interface
//! (`storage::sqlite_rows`), `COPY … FROM STDIN` on PostgreSQL. The RPPS
//! and FINESS imports stage here, then apply the staged rows set-based in
//! one transaction (see `directory::stage_tables!`);
//! the diagnosis writes its national accessibility table the same way,
//! inside its own transaction.

use std::borrow::Cow;
use std::io::Write as _;

use super::DbResult;

/// Rows staged on SQLite each time sqlx lends its handle (a few
/// milliseconds of work).
const SQLITE_ROWS: usize = 2_000;

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
        // Written in place (`io::Write` on a `Vec` cannot fail).
        Cell::Int(n) => {
            let _ = write!(out, "{n}");
        }
        // Rust's shortest round-trip form, never an exponent: PostgreSQL
        // reads it back to the same double.
        Cell::Float(x) => {
            let _ = write!(out, "{x}");
        }
        // The runs between escaped bytes copied whole, not byte by byte.
        Cell::Text(s) => {
            let bytes = s.as_bytes();
            let mut start = 0;
            for (i, b) in bytes.iter().enumerate() {
                let escaped: &[u8] = match b {
                    b'\\' => b"\\\\",
                    b'\n' => b"\\n",
                    b'\r' => b"\\r",
                    b'\t' => b"\\t",
                    _ => continue,
                };
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(escaped);
                start = i + 1;
            }
            out.extend_from_slice(&bytes[start..]);
        }
    }
}

/// Append `rows` to their temporary table on SQLite: one prepared
/// statement stepped per row through SQLite's C interface
/// (`storage::sqlite_rows`), [`SQLITE_ROWS`] rows each time sqlx lends its
/// handle, then a yield, so that a server's other tasks on this thread wait
/// for a couple of milliseconds at most.
pub(crate) async fn stage_sqlite(
    conn: &mut sqlx::SqliteConnection,
    rows: &Rows<'_>,
) -> DbResult<()> {
    if rows.cells.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        rows.table,
        rows.cols,
        vec!["?"; rows.width].join(", ")
    );
    for chunk in rows.cells.chunks(SQLITE_ROWS * rows.width) {
        let handle = conn.lock_handle().await?;
        super::sqlite_rows::insert(handle, &sql, rows.width, chunk)?;
        tokio::task::yield_now().await;
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
    use sqlx::{Connection, SqliteConnection};

    type Row = (Option<String>, Option<i64>, Option<f64>, Option<String>);

    async fn staged(conn: &mut SqliteConnection) -> Vec<Row> {
        sqlx::query_as("SELECT a, b, c, d FROM t ORDER BY rowid")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    }

    /// Rows staged through SQLite's C interface read back as bound, across
    /// chunks, inside a transaction or in their own; a failure leaves no
    /// transaction open.
    #[tokio::test]
    async fn sqlite_rows_read_back_as_bound() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TEMPORARY TABLE t (a TEXT, b INTEGER, c REAL, d TEXT)")
            .execute(&mut conn)
            .await
            .unwrap();
        let mut rows = Rows::new("t", "a, b, c, d");
        rows.cells.extend([
            Cell::from("Lefèvre « Zoé » ’"),
            Cell::Int(-3),
            Cell::Float(2.35e-7),
            Cell::Null,
            Cell::from(""),
            Cell::Int(i64::MAX),
            Cell::from(Some(f64::NAN)),
            Cell::from(String::from("owned")),
        ]);
        stage_sqlite(&mut conn, &rows).await.unwrap();
        assert_eq!(
            staged(&mut conn).await,
            vec![
                (
                    Some("Lefèvre « Zoé » ’".into()),
                    Some(-3),
                    Some(2.35e-7),
                    None
                ),
                (
                    Some(String::new()),
                    Some(i64::MAX),
                    None,
                    Some("owned".into())
                ),
            ]
        );

        // More rows than one lending of the handle.
        let mut many = Rows::new("t", "a, b, c, d");
        let n = 2 * SQLITE_ROWS + 7;
        let names: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
        for (i, name) in names.iter().enumerate() {
            many.cells.extend([
                Cell::from(name.as_str()),
                Cell::Int(i as i64),
                Cell::Null,
                Cell::Null,
            ]);
        }
        stage_sqlite(&mut conn, &many).await.unwrap();
        let (count, sum, last): (i64, i64, String) = sqlx::query_as(
            "SELECT COUNT(*), SUM(b), (SELECT a FROM t ORDER BY rowid DESC LIMIT 1) FROM t WHERE a LIKE 'n%'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            (count, sum, last),
            (n as i64, (n * (n - 1) / 2) as i64, format!("n{}", n - 1))
        );

        // Inside a transaction: they go with it.
        let mut tx = conn.begin().await.unwrap();
        stage_sqlite(&mut tx, &rows).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(staged(&mut conn).await.len(), 2 + n);

        // A failure is an error, and no transaction stays open.
        let missing = Rows::new("nowhere", "a");
        let mut bad = missing;
        bad.cells.push(Cell::from("x"));
        let err = stage_sqlite(&mut conn, &bad).await.unwrap_err();
        assert!(format!("{err:?}").contains("nowhere"), "{err:?}");
        let mut wrong = Rows::new("t", "a, b, c, d");
        wrong
            .cells
            .extend([Cell::from("x"), Cell::Int(1), Cell::Null, Cell::Null]);
        sqlx::query("CREATE TEMPORARY TABLE u (a TEXT NOT NULL)")
            .execute(&mut conn)
            .await
            .unwrap();
        let mut null = Rows::new("u", "a");
        null.cells.extend([Cell::from("kept?"), Cell::Null]);
        assert!(stage_sqlite(&mut conn, &null).await.is_err());
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM u")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(left, 0, "the failed lending's rows are rolled back");
        conn.begin().await.unwrap().commit().await.unwrap();
        stage_sqlite(&mut conn, &wrong).await.unwrap();
    }

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
        out.push(b'|');
        copy_field(&mut out, &Cell::from("\tÉté\\"));
        out.push(b'|');
        copy_field(&mut out, &Cell::from(""));
        assert_eq!(
            out,
            "a\\\\b\\tc\\nd\\re|\\N|-3|0.000000235|\\N|\\tÉté\\\\|".as_bytes()
        );
    }
}
