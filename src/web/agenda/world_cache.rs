//! This process's cache of each territory's drop-in schedule
//! ([`SeriesWorld`]: series with their parsed rules, places, exceptions),
//! checked against [`store::schedule_stamp`] on every use: one small query
//! instead of three and the parsing of every rule, and never stale, since
//! any write changes the stamp. Entries also expire after [`MAX_AGE`] for
//! what the stamp does not cover (a commune renamed by an import). Bounded
//! to [`MAX_TERRITORIES`] territories; the expansions of the windows pages
//! ask for are memoised inside each world ([`SeriesWorld::expanded`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{series_world, SeriesWorld};
use crate::storage::agenda as store;
use crate::storage::{Db, DbResult};

pub const MAX_AGE: Duration = Duration::from_secs(300);
pub const MAX_TERRITORIES: usize = 256;

struct Entry {
    stamp: String,
    loaded: Instant,
    world: Arc<SeriesWorld>,
}

#[derive(Default)]
pub struct WorldCache {
    entries: Mutex<HashMap<i64, Entry>>,
}

impl WorldCache {
    /// The territory's current schedule, from the cache when its stamp is
    /// unchanged, else read and kept.
    pub async fn get(&self, db: &Db, territory_id: i64) -> DbResult<Arc<SeriesWorld>> {
        let stamp = store::schedule_stamp(db, territory_id).await?;
        self.get_stamped(db, territory_id, stamp).await
    }

    /// The same with the stamp already read (a page's statement reads it
    /// with what it shows, see `store::schedule_stamp_sql`).
    pub async fn get_stamped(
        &self,
        db: &Db,
        territory_id: i64,
        stamp: String,
    ) -> DbResult<Arc<SeriesWorld>> {
        if let Some(world) = self.lookup(territory_id, &stamp) {
            return Ok(world);
        }
        let world = Arc::new(series_world(db, territory_id).await?);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_TERRITORIES && !entries.contains_key(&territory_id) {
            // Evict the oldest.
            if let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.loaded)
                .map(|(k, _)| *k)
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            territory_id,
            Entry {
                stamp,
                loaded: Instant::now(),
                world: world.clone(),
            },
        );
        Ok(world)
    }

    fn lookup(&self, territory_id: i64, stamp: &str) -> Option<Arc<SeriesWorld>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&territory_id)
            .filter(|e| e.stamp == stamp && e.loaded.elapsed() < MAX_AGE)
            .map(|e| e.world.clone())
    }

    /// Territories held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
