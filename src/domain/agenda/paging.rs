//! Agenda pages that end with a whole day, so that the next page can start
//! at a date (`?du=`) without showing a session twice or skipping one.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Paris;

/// Cut `sessions` (by start; one more than `limit` read when more match)
/// so that a page ends with a whole day: the sessions before the day of the
/// first one left out are kept, and that day is returned, where the next
/// page starts (`?du=`), with `false`. When more than `limit` sessions
/// share the first day, the page shows `limit` of them, the next one starts
/// the day after, and `true` says that the day was cut (the page says so).
/// `None` (nothing cut) when `limit` or fewer match.
pub fn cut_at_a_day<T>(
    sessions: &mut Vec<T>,
    limit: usize,
    start: impl Fn(&T) -> DateTime<Utc>,
) -> Option<(NaiveDate, bool)> {
    if sessions.len() <= limit {
        return None;
    }
    let day = |t: &T| start(t).with_timezone(&Paris).date_naive();
    let first = day(&sessions[0]);
    let cut = day(&sessions[limit]);
    sessions.truncate(limit);
    if cut == first {
        return Some((cut.succ_opt()?, true));
    }
    sessions.retain(|t| day(t) < cut);
    Some((cut, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Sessions at these Paris times, on December 2026 days.
    fn at(times: &[(u32, u32)]) -> Vec<DateTime<Utc>> {
        times
            .iter()
            .map(|(d, h)| {
                Paris
                    .with_ymd_and_hms(2026, 12, *d, *h, 0, 0)
                    .unwrap()
                    .with_timezone(&Utc)
            })
            .collect()
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn a_page_ends_with_a_whole_day() {
        // Nothing cut at the limit or under it.
        let mut s = at(&[(1, 10), (2, 10)]);
        assert_eq!(cut_at_a_day(&mut s, 2, |t| *t), None);
        assert_eq!(s.len(), 2);
        // The 4th of 3 + 1 read is on the 2nd, as the 3rd: the page keeps
        // the 1st only and the next starts on the 2nd.
        let mut s = at(&[(1, 10), (1, 14), (2, 9), (2, 10)]);
        assert_eq!(cut_at_a_day(&mut s, 3, |t| *t), Some((day(2), false)));
        assert_eq!(s, at(&[(1, 10), (1, 14)]));
        // A day fuller than a page: cut inside it, said so, next day after.
        let mut s = at(&[(3, 8), (3, 9), (3, 10)]);
        assert_eq!(cut_at_a_day(&mut s, 2, |t| *t), Some((day(4), true)));
        assert_eq!(s.len(), 2);
        // Days are Paris days: midnight on the 6th in Paris is still the
        // 5th in UTC, and goes with the 6th.
        let mut s = at(&[(5, 23), (6, 0), (6, 1)]);
        assert_eq!(cut_at_a_day(&mut s, 2, |t| *t), Some((day(6), false)));
        assert_eq!(s, at(&[(5, 23)]));
    }
}
