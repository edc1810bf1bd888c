//! The agenda's month calendar: the weeks of a month, each day with its
//! event sessions and public meetings, and the number of drop-ins held that
//! day (linked to the drop-ins of that day). Laid out by `agenda.html`; on
//! phones the grid becomes the list of the days that have something.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::public::SessionView;
use crate::domain::dates;

/// One day of the month calendar.
pub struct DayCell {
    pub day: u32,
    /// « lundi 7 décembre », shown instead of the grid on phones.
    pub long_label: String,
    pub iso: String,
    pub outside: bool,
    pub today: bool,
    pub sessions: Vec<SessionView>,
    /// Drop-ins held that day (linked to the permanences of that day).
    pub dropins: usize,
}

/// The month calendar of the agenda.
pub struct MonthView {
    pub label: String,
    pub value: String,
    pub prev: (String, String),
    pub next: (String, String),
    pub weeks: Vec<Vec<DayCell>>,
}

/// Sessions shown at most in one month calendar.
pub const MONTH_MAX: usize = 1000;

/// Lays the sessions of `views` (taken out of it) into the weeks of a month.
pub(super) fn month_view(
    year: i32,
    month: u32,
    weeks: Vec<[NaiveDate; 7]>,
    today: NaiveDate,
    views: &mut Vec<SessionView>,
    dropins: &BTreeMap<NaiveDate, usize>,
) -> MonthView {
    let mut by_day: BTreeMap<String, Vec<SessionView>> = BTreeMap::new();
    for v in views.drain(..) {
        by_day
            .entry(v.start_iso.get(..10).unwrap_or("").to_owned())
            .or_default()
            .push(v);
    }
    let shift = |y: i32, m: u32, d: i32| {
        let m0 = y * 12 + m as i32 - 1 + d;
        (m0.div_euclid(12), m0.rem_euclid(12) as u32 + 1)
    };
    let link = |(y, m): (i32, u32)| {
        (
            format!("{y}-{m:02}"),
            format!("{} {y}", dates::month_name(m)),
        )
    };
    MonthView {
        label: format!("{} {year}", dates::month_name(month)),
        value: format!("{year}-{month:02}"),
        prev: link(shift(year, month, -1)),
        next: link(shift(year, month, 1)),
        weeks: weeks
            .into_iter()
            .map(|w| {
                w.into_iter()
                    .map(|d| {
                        let iso = d.to_string();
                        DayCell {
                            day: d.day(),
                            long_label: dates::weekday_day_month(d),
                            outside: d.month() != month,
                            today: d == today,
                            sessions: by_day.remove(&iso).unwrap_or_default(),
                            dropins: if d.month() == month {
                                dropins.get(&d).copied().unwrap_or(0)
                            } else {
                                0
                            },
                            iso,
                        }
                    })
                    .collect()
            })
            .collect(),
    }
}
