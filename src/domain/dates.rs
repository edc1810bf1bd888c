//! Dates as French readers expect them, in Europe/Paris time.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Europe::Paris;

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];

pub fn month_name(month: u32) -> &'static str {
    MONTHS[(month as usize).clamp(1, 12) - 1]
}

pub fn weekday_name(d: NaiveDate) -> &'static str {
    WEEKDAYS[d.weekday().num_days_from_monday() as usize]
}

/// `1er novembre 2026`, `23 novembre 2026`.
pub fn long_date(d: NaiveDate) -> String {
    let day = if d.day() == 1 {
        "1er".to_owned()
    } else {
        d.day().to_string()
    };
    format!("{day} {} {}", month_name(d.month()), d.year())
}

/// `lundi 23 novembre 2026`.
pub fn long_date_with_weekday(d: NaiveDate) -> String {
    format!("{} {}", weekday_name(d), long_date(d))
}

/// A UTC instant as a date in Paris: `23 novembre 2026`.
pub fn paris_date(at: DateTime<Utc>) -> String {
    long_date(at.with_timezone(&Paris).date_naive())
}

/// A UTC instant in Paris: `23 novembre 2026 à 14 h 05`.
pub fn paris_datetime(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Paris);
    format!(
        "{} à {} h {:02}",
        long_date(local.date_naive()),
        local.hour(),
        local.minute()
    )
}

/// ISO 8601 in Paris with offset, for `<time datetime>` attributes.
pub fn paris_iso(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// A wall-clock time in Europe/Paris as an instant with its UTC offset
/// (RFC 3339 `date-time`). In the spring-forward gap (02:xx that never
/// happens) the time is read as UTC+1, as the calendar would move it.
pub fn paris_offset(local: chrono::NaiveDateTime) -> chrono::DateTime<chrono::FixedOffset> {
    use chrono::TimeZone;
    match chrono_tz::Europe::Paris
        .from_local_datetime(&local)
        .earliest()
    {
        Some(t) => t.fixed_offset(),
        None => {
            let plus_one = chrono::FixedOffset::east_opt(3600).expect("valid offset");
            plus_one
                .from_local_datetime(&local)
                .single()
                .expect("fixed offsets are unambiguous")
        }
    }
}

/// Years a date typed in a form may have: year 0 or 9999 is a typing
/// slip, and breaks what reads the dates later (exports, feeds, sorting).
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2100;

/// Is `d` within [`FIRST_YEAR`]..=[`LAST_YEAR`]?
pub fn plausible(d: NaiveDate) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&d.year())
}

/// A form date `AAAA-MM-JJ` within the plausible years, or `None`.
pub fn parse_form_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| plausible(*d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn form_dates_are_bounded() {
        assert!(parse_form_date("2025-03-01").is_some());
        assert!(parse_form_date("1900-01-01").is_some() && parse_form_date("2100-12-31").is_some());
        for bad in [
            "0000-01-01",
            "9999-12-31",
            "1899-12-31",
            "2101-01-01",
            "2025-02-30",
            "",
        ] {
            assert!(parse_form_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn french_dates() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(long_date(d), "1er novembre 2026");
        assert_eq!(long_date_with_weekday(d), "dimanche 1er novembre 2026");
        // 23:30 UTC on 31 March is already 1 April in Paris (summer time, +2).
        let at = Utc.with_ymd_and_hms(2026, 3, 31, 23, 30, 0).unwrap();
        assert_eq!(paris_datetime(at), "1er avril 2026 à 1 h 30");
        assert_eq!(paris_iso(at), "2026-04-01T01:30:00+02:00");
    }
}
