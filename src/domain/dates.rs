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
    if d.day() == 1 {
        format!("1er {} {}", month_name(d.month()), d.year())
    } else {
        format!("{} {} {}", d.day(), month_name(d.month()), d.year())
    }
}

/// `23/11/2026`: the one short form of a date shown in the agenda pages.
/// Written by hand rather than through chrono's `format`, which parses its
/// pattern again on each call: a fiche action shows dozens of dates, and
/// formatting and reading them took a twentieth of its render.
pub fn short_date(d: NaiveDate) -> String {
    if (0..=9999).contains(&d.year()) {
        format!("{:02}/{:02}/{:04}", d.day(), d.month(), d.year())
    } else {
        d.format("%d/%m/%Y").to_string()
    }
}

/// A date as it is stored and bound, `YYYY-MM-DD` (see [`short_date`]).
pub fn iso(d: NaiveDate) -> String {
    if (0..=9999).contains(&d.year()) {
        format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

/// A stored date, `YYYY-MM-DD`, as chrono's `%Y-%m-%d` reads it; the usual
/// ten characters are read by hand (see [`short_date`]), anything else by
/// chrono.
pub fn iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let number = |digits: &[u8]| {
            digits.iter().try_fold(0u32, |n, &c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        };
        if let (Some(y), Some(m), Some(d)) = (number(&b[0..4]), number(&b[5..7]), number(&b[8..10]))
        {
            return NaiveDate::from_ymd_opt(y as i32, m, d);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A date typed in a form: `AAAA-MM-JJ` (what a native date field sends) or
/// `JJ/MM/AAAA` (typed by hand where the browser has no date picker).
pub fn parse_input_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
        .filter(|d| plausible(*d))
}

/// `lundi 23 novembre`, `vendredi 1er janvier`: a date within a month or a
/// year already named (plannings, calendars).
pub fn weekday_day_month(d: NaiveDate) -> String {
    let day = if d.day() == 1 {
        "1er".to_owned()
    } else {
        d.day().to_string()
    };
    format!("{} {day} {}", weekday_name(d), month_name(d.month()))
}

/// `lundi 23 novembre 2026`.
pub fn long_date_with_weekday(d: NaiveDate) -> String {
    let (weekday, month, year) = (weekday_name(d), month_name(d.month()), d.year());
    if d.day() == 1 {
        format!("{weekday} 1er {month} {year}")
    } else {
        format!("{weekday} {} {month} {year}", d.day())
    }
}

/// A stored `YYYY-MM-DD` shown as `JJ/MM/AAAA` (kept as is if it is not one).
pub fn french_iso_date(s: &str) -> String {
    iso_date(s).map(short_date).unwrap_or_else(|| s.to_owned())
}

/// The current year in Paris.
pub fn paris_year() -> i32 {
    use chrono::Datelike;
    Utc::now().with_timezone(&Paris).year()
}

/// A year asked in a query (`?annee=2025`): from 2000 to this year, else
/// this year.
pub fn chosen_year(asked: Option<&str>) -> i32 {
    let now = paris_year();
    asked
        .and_then(|y| y.trim().parse::<i32>().ok())
        .filter(|y| (2000..=now).contains(y))
        .unwrap_or(now)
}

/// 1 January of `year`, 00:00 in Paris, as a UTC instant.
pub fn paris_year_start(year: i32) -> Option<DateTime<Utc>> {
    use chrono::TimeZone;
    Paris
        .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
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
    // RFC 3339 is ISO 8601's `%Y-%m-%dT%H:%M:%S%:z`, written without
    // parsing a format string on every call (the agenda writes hundreds).
    at.with_timezone(&Paris)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
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

/// A form date within the plausible years, or `None`: the same rule as
/// [`parse_input_date`] (`AAAA-MM-JJ` or `JJ/MM/AAAA`).
pub fn parse_form_date(s: &str) -> Option<NaiveDate> {
    parse_input_date(s)
}

/// The Monday-to-Sunday weeks that cover the month of `first` (a month
/// calendar's rows), or `None` outside the plausible years.
pub fn month_weeks(year: i32, month: u32) -> Option<Vec<[NaiveDate; 7]>> {
    let first = NaiveDate::from_ymd_opt(year, month, 1).filter(|d| plausible(*d))?;
    let mut day = first - chrono::Duration::days(first.weekday().num_days_from_monday() as i64);
    let mut weeks = Vec::new();
    while day.year() < year || (day.year() == year && day.month() <= month) {
        let week: [NaiveDate; 7] = std::array::from_fn(|i| day + chrono::Duration::days(i as i64));
        day += chrono::Duration::days(7);
        weeks.push(week);
    }
    Some(weeks)
}

/// `AAAA-MM` as in `?mois=2026-12`.
pub fn parse_month(s: &str) -> Option<(i32, u32)> {
    let (y, m) = s.trim().split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    ((1..=12).contains(&m) && (FIRST_YEAR..=LAST_YEAR).contains(&y)).then_some((y, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The hand-written date reading and writing agree with chrono's
    /// `%Y-%m-%d` and `%d/%m/%Y` on every day of several years and on the
    /// texts chrono refuses or reads otherwise.
    #[test]
    fn dates_by_hand_agree_with_chrono() {
        let mut d = NaiveDate::from_ymd_opt(1999, 12, 25).unwrap();
        while d.year() < 2031 {
            let iso = d.format("%Y-%m-%d").to_string();
            assert_eq!(iso_date(&iso), Some(d));
            assert_eq!(super::iso(d), iso);
            assert_eq!(short_date(d), d.format("%d/%m/%Y").to_string());
            d = d.succ_opt().unwrap();
        }
        for s in [
            "2026-02-30",
            "2026-13-01",
            "2026-00-10",
            "2026-1-05",
            "2026-01-5",
            "2026/01/05",
            "20260105",
            " 2026-01-05",
            "2026-01-05 ",
            "2026-0a-05",
            "+2026-01-05",
            "",
            "0000-01-01",
        ] {
            assert_eq!(
                iso_date(s),
                NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
                "{s:?}"
            );
        }
        let far = NaiveDate::from_ymd_opt(12026, 1, 5).unwrap();
        assert_eq!(short_date(far), far.format("%d/%m/%Y").to_string());
        assert_eq!(french_iso_date("2026-11-23"), "23/11/2026");
        assert_eq!(french_iso_date("bientôt"), "bientôt");
    }

    #[test]
    fn month_calendar_rows() {
        // December 2026 starts on a Tuesday and ends on a Thursday.
        let w = month_weeks(2026, 12).unwrap();
        assert_eq!(w.len(), 5);
        assert_eq!(w[0][0], NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(w[4][6], NaiveDate::from_ymd_opt(2027, 1, 3).unwrap());
        // February 2027 starts on a Monday: four rows exactly.
        let w = month_weeks(2027, 2).unwrap();
        assert_eq!(w.len(), 4);
        assert_eq!(w[0][0], NaiveDate::from_ymd_opt(2027, 2, 1).unwrap());
        // A month ending on a Sunday does not add an empty row.
        let w = month_weeks(2026, 5).unwrap();
        assert_eq!(
            w.last().unwrap()[6],
            NaiveDate::from_ymd_opt(2026, 5, 31).unwrap()
        );
        assert!(month_weeks(9999, 1).is_none());
        assert_eq!(parse_month("2026-12"), Some((2026, 12)));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("0000-01"), None);
    }

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
        assert_eq!(short_date(d), "01/11/2026");
        assert_eq!(parse_input_date("2026-11-01"), Some(d));
        assert_eq!(parse_input_date(" 01/11/2026 "), Some(d));
        assert_eq!(parse_input_date("31/02/2026"), None);
        // 23:30 UTC on 31 March is already 1 April in Paris (summer time, +2).
        let at = Utc.with_ymd_and_hms(2026, 3, 31, 23, 30, 0).unwrap();
        assert_eq!(paris_datetime(at), "1er avril 2026 à 1 h 30");
        assert_eq!(paris_iso(at), "2026-04-01T01:30:00+02:00");
        // Winter time (+1), seconds kept, a day other than the first.
        let at = Utc.with_ymd_and_hms(2026, 12, 4, 8, 5, 9).unwrap();
        assert_eq!(paris_iso(at), "2026-12-04T09:05:09+01:00");
        let d = NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
        assert_eq!(long_date(d), "24 décembre 2026");
        assert_eq!(long_date_with_weekday(d), "jeudi 24 décembre 2026");
        assert_eq!(d.to_string(), "2026-12-24");
    }
}
