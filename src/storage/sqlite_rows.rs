//! Inserting many rows on SQLite through its C interface, on the handle
//! sqlx lends (`SqliteConnection::lock_handle`).
//!
//! Staging a national RPPS file is five million rows. Through sqlx each
//! value was copied twice (into an owned argument for the worker thread,
//! then by SQLite itself) and each 500-row statement crossed threads; the
//! thread binding them was the import's busiest after the reader. Here one
//! prepared statement is stepped once per row with the values bound in
//! place (`SQLITE_STATIC`: SQLite reads them where they are, before the next
//! step), on the calling thread, while sqlx's worker waits.
//!
//! With `storage::sqlite_memory`, the only `unsafe` code of the application.

use std::ffi::{c_int, CStr};
use std::ptr::{null_mut, NonNull};

use libsqlite3_sys as ffi;

use super::staging::Cell;
use super::{DbError, DbResult};

/// A prepared statement, finalized when dropped.
struct Statement(*mut ffi::sqlite3_stmt);

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: the statement came from `sqlite3_prepare_v2` on a handle
        // that outlives it, and is finalized once.
        unsafe {
            ffi::sqlite3_finalize(self.0);
        }
    }
}

/// The handle's last error, as the storage layer reports it.
///
/// SAFETY: `db` is a valid, open handle used by this thread only.
unsafe fn error(db: *mut ffi::sqlite3, rc: c_int) -> DbError {
    let message = CStr::from_ptr(ffi::sqlite3_errmsg(db)).to_string_lossy();
    DbError::Other(anyhow::anyhow!("SQLite : {message} (code {rc})"))
}

/// SAFETY: as [`error`].
unsafe fn exec(db: *mut ffi::sqlite3, sql: &CStr) -> DbResult<()> {
    let rc = ffi::sqlite3_exec(db, sql.as_ptr(), None, null_mut(), null_mut());
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(error(db, rc))
    }
}

/// Insert `cells`, rows of `width` values in the order of `sql`'s
/// parameters, with the single-row `INSERT` `sql`. When no transaction is
/// open, the rows are inserted in one of their own (a temporary table's
/// rows lock nothing that other connections use).
pub(crate) fn insert(
    mut handle: sqlx::sqlite::LockedSqliteHandle<'_>,
    sql: &str,
    width: usize,
    cells: &[Cell<'_>],
) -> DbResult<()> {
    let db: NonNull<ffi::sqlite3> = handle.as_raw_handle();
    let db = db.as_ptr();
    // SAFETY: while `handle` lives, sqlx's worker makes no call on this
    // connection; the statement and every bound value live until the
    // statement is stepped and reset, within this call.
    unsafe {
        let own = ffi::sqlite3_get_autocommit(db) != 0;
        if own {
            exec(db, c"BEGIN")?;
        }
        let mut done = insert_rows(db, sql, width, cells);
        if own {
            if done.is_ok() {
                done = exec(db, c"COMMIT");
            }
            // Never hand the connection back inside a transaction of ours.
            if done.is_err() && ffi::sqlite3_get_autocommit(db) == 0 {
                let _ = exec(db, c"ROLLBACK");
            }
        }
        done
    }
}

/// SAFETY: as [`error`]; the values of `cells` outlive each step.
unsafe fn insert_rows(
    db: *mut ffi::sqlite3,
    sql: &str,
    width: usize,
    cells: &[Cell<'_>],
) -> DbResult<()> {
    let mut raw = null_mut();
    let len = c_int::try_from(sql.len()).map_err(|e| DbError::Other(e.into()))?;
    let rc = ffi::sqlite3_prepare_v2(db, sql.as_ptr().cast(), len, &mut raw, null_mut());
    if rc != ffi::SQLITE_OK {
        return Err(error(db, rc));
    }
    let stmt = Statement(raw);
    if ffi::sqlite3_bind_parameter_count(stmt.0) as usize != width {
        return Err(DbError::Other(anyhow::anyhow!(
            "{sql} : {width} valeurs par ligne attendues"
        )));
    }
    for row in cells.chunks_exact(width) {
        for (i, cell) in row.iter().enumerate() {
            let at = (i + 1) as c_int;
            let rc = match cell {
                // A non-null pointer even for "" (a null one binds NULL).
                Cell::Text(s) => ffi::sqlite3_bind_text64(
                    stmt.0,
                    at,
                    s.as_ptr().cast(),
                    s.len() as u64,
                    ffi::SQLITE_STATIC(),
                    ffi::SQLITE_UTF8 as u8,
                ),
                Cell::Null => ffi::sqlite3_bind_null(stmt.0, at),
                Cell::Int(n) => ffi::sqlite3_bind_int64(stmt.0, at, *n),
                Cell::Float(x) => ffi::sqlite3_bind_double(stmt.0, at, *x),
            };
            if rc != ffi::SQLITE_OK {
                return Err(error(db, rc));
            }
        }
        let rc = ffi::sqlite3_step(stmt.0);
        ffi::sqlite3_reset(stmt.0);
        if rc != ffi::SQLITE_DONE {
            return Err(error(db, rc));
        }
    }
    Ok(())
}
