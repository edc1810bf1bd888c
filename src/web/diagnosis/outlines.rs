//! The diagnosis maps' outlines, parsed once per version in each process.
//!
//! Reading and parsing the GeoJSON of a territory's communes and of those
//! around it (652 outlines, 470 kB in the demo) took most of the public
//! diagnosis page's time: 145 pages a second with them, 516 without. They
//! change only with a geo import (`storage::diagnosis::geo_version`), or
//! with the territory's communes and their points (the box around them),
//! which the page's statement reads anyway: that is the key. On a miss,
//! two statements read them (`storage::diagnosis::map_outlines`).

use std::sync::{Arc, Mutex};

use crate::diagnosis::Outlines;
use crate::storage::diagnosis::{self as store, CommuneInput};
use crate::storage::{Db, DbResult};

/// What the outlines were read for.
#[derive(Debug, Clone, PartialEq)]
struct Key {
    territory_id: i64,
    geo_version: Option<String>,
    codes: Vec<String>,
    /// The box's bounds, bit for bit.
    bounds: Option<[u64; 4]>,
}

/// The territories' outlines parsed last, newest last.
static CACHE: Mutex<Vec<(Key, Arc<Outlines>)>> = Mutex::new(Vec::new());

/// Territories kept (an entry holds a few hundred outlines at most).
const CACHED: usize = 32;

/// The parsed outlines of the territory's communes (`codes`, whose
/// `inputs` place the box around them) at `geo_version`.
pub async fn get(
    db: &Db,
    territory_id: i64,
    geo_version: Option<String>,
    codes: Vec<String>,
    inputs: &[CommuneInput],
) -> DbResult<Arc<Outlines>> {
    let bounds = store::map_box(inputs);
    let key = Key {
        territory_id,
        geo_version,
        bounds: bounds.map(|(s, w, n, e)| [s.to_bits(), w.to_bits(), n.to_bits(), e.to_bits()]),
        codes,
    };
    let cache = || CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, o)) = cache().iter().find(|(k, _)| *k == key) {
        return Ok(o.clone());
    }
    let read = store::map_outlines(db, &key.codes, bounds).await?;
    let parsed = Arc::new(Outlines::parse(read, &key.codes));
    let mut c = cache();
    c.retain(|(k, _)| k.territory_id != territory_id);
    c.push((key, parsed.clone()));
    if c.len() > CACHED {
        c.remove(0);
    }
    Ok(parsed)
}
