//! SQLite's memory, taken from the process's allocator.
//!
//! The bundled SQLite calls the C library's `malloc` by default, while the
//! rest of the binary uses its global allocator (mimalloc, `main.rs`). Under
//! load glibc's allocator was a seventh of the server's time on a public
//! fiche action (`_int_malloc`, `malloc_consolidate`, `unlink_chunk`: each
//! `json_group_array(… ORDER BY …)` opens a temporary B-tree, with its pager
//! and page cache, and frees it at the end of the statement). Here SQLite is
//! given the same allocator through `sqlite3_config(SQLITE_CONFIG_MALLOC)`,
//! before its first connection opens.
//!
//! Each block carries its size in an 8-byte header, as SQLite's own
//! `mem1.c` does where `malloc_usable_size` is missing: `xFree` and `xSize`
//! are given only the pointer, Rust's allocator wants the layout back.
//!
//! With `storage::sqlite_rows`, the only `unsafe` code of the application.

use std::alloc::{alloc, dealloc, realloc, Layout};
use std::ffi::{c_int, c_void};
use std::ptr::null_mut;
use std::sync::Once;

use libsqlite3_sys as ffi;

/// The header before each block: its size, as SQLite asked for it.
const HEADER: usize = 8;
/// SQLite's allocations are 8-byte aligned (its `xRoundup` contract).
const ALIGN: usize = 8;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, ALIGN).ok()
}

/// Rounds `n` up to the next multiple of 8, as SQLite asks `xRoundup` to.
fn rounded(n: c_int) -> c_int {
    (n.max(0).saturating_add(7)) & !7
}

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    let Some(l) = layout(rounded(n) as usize) else {
        return null_mut();
    };
    // SAFETY: the layout's size is at least HEADER, never zero.
    let p = unsafe { alloc(l) };
    if p.is_null() {
        return null_mut();
    }
    // SAFETY: p points at HEADER + size bytes aligned to 8.
    unsafe {
        (p as *mut u64).write(rounded(n) as u64);
        p.add(HEADER) as *mut c_void
    }
}

/// SAFETY: `p` came from `x_malloc` or `x_realloc` and is not yet freed.
unsafe fn block(p: *mut c_void) -> (*mut u8, usize) {
    let start = unsafe { (p as *mut u8).sub(HEADER) };
    let size = unsafe { (start as *const u64).read() } as usize;
    (start, size)
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: SQLite frees only what it was given, once.
    unsafe {
        let (start, size) = block(p);
        dealloc(start, layout(size).expect("a size that was allocated"));
    }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    if p.is_null() {
        return unsafe { x_malloc(n) };
    }
    let new_size = rounded(n) as usize;
    let Some(new_layout) = layout(new_size) else {
        return null_mut();
    };
    // SAFETY: as `x_free`; on failure the old block stays valid, as SQLite
    // expects of `xRealloc`.
    unsafe {
        let (start, size) = block(p);
        let q = realloc(
            start,
            layout(size).expect("a size that was allocated"),
            new_layout.size(),
        );
        if q.is_null() {
            return null_mut();
        }
        (q as *mut u64).write(new_size as u64);
        q.add(HEADER) as *mut c_void
    }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: as `x_free`.
    unsafe { block(p).1 as c_int }
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    rounded(n)
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// The methods, shared by every thread: their `pAppData` is null and never
/// read.
struct Methods(ffi::sqlite3_mem_methods);
// SAFETY: nothing is reached through the null pointer; the rest is
// function pointers.
unsafe impl Sync for Methods {}

static METHODS: Methods = Methods(ffi::sqlite3_mem_methods {
    xMalloc: Some(x_malloc),
    xFree: Some(x_free),
    xRealloc: Some(x_realloc),
    xSize: Some(x_size),
    xRoundup: Some(x_roundup),
    xInit: Some(x_init),
    xShutdown: Some(x_shutdown),
    pAppData: null_mut(),
});

/// Whether SQLite took the process's allocator (false when a connection
/// had already opened before the first call: SQLite then keeps `malloc`,
/// which changes nothing but speed).
static TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Give SQLite the process's allocator; call before the first connection
/// opens. Later calls do nothing.
pub(crate) fn use_process_allocator() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_MALLOC copies the methods, which live for
        // the whole process; SQLite refuses (SQLITE_MISUSE) once it is
        // initialized, and nothing else configures it.
        let rc = unsafe {
            ffi::sqlite3_config(
                ffi::SQLITE_CONFIG_MALLOC,
                &METHODS.0 as *const ffi::sqlite3_mem_methods,
            )
        };
        if rc == ffi::SQLITE_OK {
            TAKEN.store(true, std::sync::atomic::Ordering::Relaxed);
        } else {
            tracing::debug!(
                rc,
                "SQLite keeps the C library's malloc (already initialized)"
            );
        }
    });
}

/// Whether [`use_process_allocator`] took effect in this process.
pub fn uses_process_allocator() -> bool {
    TAKEN.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_up_to_eight() {
        assert_eq!(rounded(0), 0);
        assert_eq!(rounded(1), 8);
        assert_eq!(rounded(8), 8);
        assert_eq!(rounded(9), 16);
        assert_eq!(rounded(-5), 0);
    }

    #[test]
    fn a_block_keeps_its_size_and_contents_through_realloc() {
        // SAFETY: the blocks are used within their sizes and freed once.
        unsafe {
            let p = x_malloc(13) as *mut u8;
            assert!(!p.is_null());
            assert_eq!(p as usize % ALIGN, 0);
            assert_eq!(x_size(p as *mut c_void), 16);
            for i in 0..13 {
                p.add(i).write(i as u8);
            }
            let q = x_realloc(p as *mut c_void, 5000) as *mut u8;
            assert_eq!(x_size(q as *mut c_void), 5000);
            assert_eq!(
                (0..13).map(|i| q.add(i).read()).collect::<Vec<_>>(),
                (0..13).collect::<Vec<u8>>()
            );
            let r = x_realloc(q as *mut c_void, 3) as *mut u8;
            assert_eq!(x_size(r as *mut c_void), 8);
            assert_eq!(r.add(2).read(), 2);
            x_free(r as *mut c_void);
            x_free(null_mut());
            assert_eq!(x_size(null_mut()), 0);
        }
    }
}
