//! Drop-in series (permanences): an RFC 5545 RRULE anchored in Europe/Paris,
//! a time slot, a period, public holidays skipped or not, and exceptions on
//! single occurrences (cancelled with a public note, or moved).
//!
//! A [`Schedule`] is validated once: the rule parses, it ends (UNTIL, COUNT
//! or the series' end date) and yields at least one occurrence. It is then
//! normalised so that every consumer (our expansion, the iCalendar feed, an
//! independent RFC 5545 reader) sees the same set of dates:
//! - DTSTART is the first occurrence the rule generates on or after the first
//!   date typed (RFC 5545 counts DTSTART as an instance even when it does not
//!   match the rule; libraries disagree, so we never let it differ);
//! - the effective rule always ends with an `UNTIL` in UTC (COUNT and the end
//!   date are folded into it).

use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Europe::Paris;
use rrule::{Frequency, RRule, RRuleSet, Unvalidated};
use serde::Serialize;

use super::holidays::holiday_name;
use crate::domain::Invalid;

/// Upper bound of occurrences of one series (a few years of weekly sessions).
pub const MAX_OCCURRENCES: usize = 1000;

/// The three shapes the back-office form offers; anything else is typed as
/// an RRULE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// « chaque semaine »
    Weekly(Weekday),
    /// « une semaine sur deux »
    Biweekly(Weekday),
    /// « chaque mois le Nième jour » (n in 1..=4, or -1 for the last).
    MonthlyNth(i8, Weekday),
}

pub fn weekday_code(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

pub fn weekday_from_code(s: &str) -> Option<Weekday> {
    Some(match s {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

impl Pattern {
    pub fn to_rrule(self) -> String {
        match self {
            Pattern::Weekly(w) => format!("FREQ=WEEKLY;BYDAY={}", weekday_code(w)),
            Pattern::Biweekly(w) => format!("FREQ=WEEKLY;INTERVAL=2;BYDAY={}", weekday_code(w)),
            Pattern::MonthlyNth(n, w) => format!("FREQ=MONTHLY;BYDAY={n}{}", weekday_code(w)),
        }
    }

    /// Recognise a rule the form can show as one of its three choices.
    pub fn from_rrule(rule: &str) -> Option<Pattern> {
        let rule = normalise_rule_text(rule);
        if !rule.is_ascii() {
            return None;
        }
        let parts: Vec<&str> = rule
            .split(';')
            .filter(|p| !p.starts_with("UNTIL=") && !p.starts_with("COUNT="))
            .collect();
        match parts.as_slice() {
            ["FREQ=WEEKLY", by] => {
                weekday_from_code(by.strip_prefix("BYDAY=")?).map(Pattern::Weekly)
            }
            ["FREQ=WEEKLY", "INTERVAL=2", by] => {
                weekday_from_code(by.strip_prefix("BYDAY=")?).map(Pattern::Biweekly)
            }
            ["FREQ=MONTHLY", by] => {
                let v = by.strip_prefix("BYDAY=")?;
                let (n, w) = v.split_at(v.len().checked_sub(2)?);
                let n: i8 = n.parse().ok()?;
                if !(n == -1 || (1..=4).contains(&n)) {
                    return None;
                }
                Some(Pattern::MonthlyNth(n, weekday_from_code(w)?))
            }
            _ => None,
        }
    }
}

fn normalise_rule_text(s: &str) -> String {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let s = s.to_ascii_uppercase();
    s.strip_prefix("RRULE:").map(str::to_owned).unwrap_or(s)
}

fn paris(dt: NaiveDateTime) -> DateTime<chrono_tz::Tz> {
    // Slots are daytime hours: the ambiguous/missing night hours of the DST
    // changes do not occur; take the earliest reading if they ever do.
    Paris
        .from_local_datetime(&dt)
        .earliest()
        .unwrap_or_else(|| Paris.from_utc_datetime(&dt))
}

fn rtz(dt: NaiveDateTime) -> DateTime<rrule::Tz> {
    paris(dt).with_timezone(&rrule::Tz::Tz(Paris))
}

/// A validated, normalised recurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schedule {
    /// First occurrence, local time in Paris.
    pub dtstart: NaiveDateTime,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    /// The rule as typed, normalised (no `RRULE:` prefix, upper case).
    pub rule: String,
    /// The rule actually used: `UNTIL` (UTC) always present, no `COUNT`.
    pub effective_rule: String,
    /// Last instant of the series (UTC).
    pub until: DateTime<Utc>,
    pub skip_holidays: bool,
    /// The rule's dates, worked out once (a schedule never changes): pages
    /// ask for them on every request (the next dates, the holidays skipped).
    #[serde(skip)]
    dates: DatesCache,
}

/// The dates of a rule and those of them on public holidays, computed on
/// first use. Not part of a schedule's identity: two schedules are equal
/// whether or not either has computed them.
#[derive(Clone, Default)]
struct DatesCache(std::sync::OnceLock<(Vec<NaiveDate>, Vec<NaiveDate>)>);

impl PartialEq for DatesCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for DatesCache {}

impl std::fmt::Debug for DatesCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatesCache")
    }
}

/// What to build a [`Schedule`] from (form or API input, already typed).
#[derive(Debug, Clone)]
pub struct ScheduleInput<'a> {
    pub first_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub rule: &'a str,
    pub skip_holidays: bool,
}

impl Schedule {
    pub fn new(input: &ScheduleInput<'_>) -> Result<Schedule, Invalid> {
        if input.end_time <= input.start_time {
            return Err(Invalid::new(
                "L’heure de fin doit être après l’heure de début.",
            ));
        }
        if let Some(end) = input.end_date {
            if end < input.first_date {
                return Err(Invalid::new(
                    "La date de fin doit être après la date de la première permanence.",
                ));
            }
        }
        let rule = normalise_rule_text(input.rule);
        if rule.is_empty() {
            return Err(Invalid::new("Indiquez une règle de récurrence (RRULE)."));
        }
        // The rrule crate slices BYDAY values by bytes and panics inside a
        // multi-byte character (`BYDAY=1€`); an RRULE is ASCII anyway.
        if !rule.is_ascii() {
            return Err(Invalid::new(
                "Règle de récurrence illisible : seuls les lettres sans accent, les chiffres et les signes = ; , : + - sont permis.",
            ));
        }
        let parsed = RRule::<Unvalidated>::from_str(&rule)
            .map_err(|e| Invalid::new(format!("Règle de récurrence illisible : {e}")))?;
        match parsed.get_freq() {
            Frequency::Daily | Frequency::Weekly | Frequency::Monthly | Frequency::Yearly => {}
            _ => {
                return Err(Invalid::new(
                    "La récurrence doit être quotidienne, hebdomadaire, mensuelle ou annuelle.",
                ))
            }
        }
        if !parsed.get_by_hour().is_empty()
            || !parsed.get_by_minute().is_empty()
            || !parsed.get_by_second().is_empty()
        {
            return Err(Invalid::new(
                "L’horaire se règle avec les heures de début et de fin, pas dans la RRULE (BYHOUR, BYMINUTE, BYSECOND).",
            ));
        }
        let count = parsed.get_count();
        let rule_until = parsed.get_until().map(|u| u.with_timezone(&Utc));
        let end_limit = input.end_date.map(|d| {
            paris(d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap())).with_timezone(&Utc)
        });
        let limit = match (rule_until, end_limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if count.is_none() && limit.is_none() {
            return Err(Invalid::new(
                "Cette récurrence ne s’arrête jamais : indiquez une date de fin de la série (ou UNTIL / COUNT dans la RRULE).",
            ));
        }
        let base: Vec<&str> = rule
            .split(';')
            .filter(|p| !p.starts_with("UNTIL=") && !p.starts_with("COUNT="))
            .collect();
        let base = base.join(";");
        // Expand from the first date typed, bounded by COUNT and the limit.
        let mut probe = base.clone();
        if let Some(c) = count {
            probe.push_str(&format!(";COUNT={c}"));
        }
        if let Some(l) = limit {
            probe.push_str(&format!(";UNTIL={}", l.format("%Y%m%dT%H%M%SZ")));
        }
        let start = input.first_date.and_time(input.start_time);
        let set = build_set(&probe, start)?;
        let dates: Vec<DateTime<rrule::Tz>> = set.into_iter().take(MAX_OCCURRENCES + 1).collect();
        if dates.len() > MAX_OCCURRENCES {
            return Err(Invalid::new(format!(
                "Cette récurrence donne plus de {MAX_OCCURRENCES} permanences : raccourcissez la période."
            )));
        }
        let kept: Vec<NaiveDate> = dates
            .iter()
            .map(|d| d.naive_local().date())
            .filter(|d| !input.skip_holidays || holiday_name(*d).is_none())
            .collect();
        if kept.is_empty() {
            return Err(Invalid::new(
                "Cette récurrence ne donne aucune date sur la période indiquée.",
            ));
        }
        let first = dates[0].naive_local();
        let last = dates[dates.len() - 1].with_timezone(&Utc);
        // UNTIL: the limit when there is one, else the last occurrence.
        let until = match (count, limit) {
            (None, Some(l)) => l,
            _ => last,
        };
        let effective_rule = format!("{base};UNTIL={}", until.format("%Y%m%dT%H%M%SZ"));
        Ok(Schedule {
            dtstart: first,
            start_time: input.start_time,
            end_time: input.end_time,
            rule,
            effective_rule,
            until,
            skip_holidays: input.skip_holidays,
            dates: DatesCache::default(),
        })
    }

    /// Rebuild from what storage keeps (the rule as typed and the period):
    /// the rule's dates and those of them on public holidays, computed once.
    fn cached_dates(&self) -> &(Vec<NaiveDate>, Vec<NaiveDate>) {
        self.dates.0.get_or_init(|| {
            let all: Vec<NaiveDate> = build_set(&self.effective_rule, self.dtstart)
                .map(|s| {
                    s.into_iter()
                        .take(MAX_OCCURRENCES)
                        .map(|d| d.naive_local().date())
                        .collect()
                })
                .unwrap_or_default();
            let holidays = all
                .iter()
                .copied()
                .filter(|d| holiday_name(*d).is_some())
                .collect();
            (all, holidays)
        })
    }

    /// The rule's dates, holidays included.
    pub fn rule_dates(&self) -> &[NaiveDate] {
        &self.cached_dates().0
    }

    /// Rule dates skipped because they fall on a public holiday.
    pub fn holiday_dates(&self) -> Vec<NaiveDate> {
        if !self.skip_holidays {
            return Vec::new();
        }
        self.cached_dates().1.clone()
    }

    /// Dates the series really has before exceptions (rule minus holidays).
    pub fn dates(&self) -> Vec<NaiveDate> {
        let (all, holidays) = self.cached_dates();
        all.iter()
            .copied()
            .filter(|d| !self.skip_holidays || !holidays.contains(d))
            .collect()
    }

    pub fn first_date(&self) -> NaiveDate {
        self.dtstart.date()
    }

    pub fn last_date(&self) -> NaiveDate {
        self.until.with_timezone(&Paris).date_naive()
    }
}

fn build_set(rule: &str, start: NaiveDateTime) -> Result<RRuleSet, Invalid> {
    let parsed = RRule::<Unvalidated>::from_str(rule)
        .map_err(|e| Invalid::new(format!("Règle de récurrence illisible : {e}")))?;
    parsed
        .build(rtz(start))
        .map_err(|e| Invalid::new(format!("Règle de récurrence invalide : {e}")))
}

/// A change to one occurrence of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExceptionKind {
    Cancelled,
    /// Held although it falls on a public holiday the series skips.
    Held,
    Moved {
        date: NaiveDate,
        start_time: NaiveTime,
        end_time: NaiveTime,
        /// Another place, or the series' place when `None`.
        place_id: Option<i64>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exception {
    /// The date the rule gives (RECURRENCE-ID).
    pub original_date: NaiveDate,
    pub kind: ExceptionKind,
    /// Public note (« reportée en raison de … »).
    pub note: String,
}

impl Exception {
    pub fn moved(
        original_date: NaiveDate,
        date: NaiveDate,
        start_time: NaiveTime,
        end_time: NaiveTime,
        place_id: Option<i64>,
        note: &str,
    ) -> Result<Exception, Invalid> {
        if end_time <= start_time {
            return Err(Invalid::new(
                "L’heure de fin doit être après l’heure de début.",
            ));
        }
        Ok(Exception {
            original_date,
            kind: ExceptionKind::Moved {
                date,
                start_time,
                end_time,
                place_id,
            },
            note: note.trim().to_owned(),
        })
    }

    /// Hold the session of a public holiday anyway.
    pub fn held(original_date: NaiveDate, note: &str) -> Exception {
        Exception {
            original_date,
            kind: ExceptionKind::Held,
            note: note.trim().to_owned(),
        }
    }

    pub fn cancelled(original_date: NaiveDate, note: &str) -> Exception {
        Exception {
            original_date,
            kind: ExceptionKind::Cancelled,
            note: note.trim().to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OccurrenceStatus {
    Scheduled,
    Moved,
    Cancelled,
}

/// One occurrence as the public sees it (local times in Paris).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    pub original_date: NaiveDate,
    pub date: NaiveDate,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub status: OccurrenceStatus,
    pub note: String,
    /// Set when the occurrence moved to another place.
    pub place_id: Option<i64>,
}

impl Occurrence {
    pub fn start_utc(&self) -> DateTime<Utc> {
        paris(self.start).with_timezone(&Utc)
    }
    pub fn end_utc(&self) -> DateTime<Utc> {
        paris(self.end).with_timezone(&Utc)
    }
}

/// Occurrences whose (possibly moved) date lies in `[from, to]`, in time
/// order. Cancelled occurrences are included (with their note) so pages can
/// say so; holidays are not. Exceptions naming a date the series does not
/// have are ignored.
pub fn expand(
    schedule: &Schedule,
    exceptions: &[Exception],
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<Occurrence> {
    let mut out = Vec::new();
    if to < from {
        return out;
    }
    let (all, holidays) = schedule.cached_dates();
    for &d in all {
        let exc = exceptions.iter().find(|e| e.original_date == d);
        let skipped = schedule.skip_holidays && holidays.contains(&d);
        let held = exc.is_some_and(|e| e.kind == ExceptionKind::Held);
        if skipped && !held {
            continue;
        }
        let scheduled = Occurrence {
            original_date: d,
            date: d,
            start: d.and_time(schedule.start_time),
            end: d.and_time(schedule.end_time),
            status: OccurrenceStatus::Scheduled,
            note: String::new(),
            place_id: None,
        };
        let occ = match exc {
            None => scheduled,
            Some(e) => match &e.kind {
                ExceptionKind::Held => Occurrence {
                    note: e.note.clone(),
                    ..scheduled
                },
                ExceptionKind::Cancelled => Occurrence {
                    status: OccurrenceStatus::Cancelled,
                    note: e.note.clone(),
                    ..scheduled
                },
                ExceptionKind::Moved {
                    date,
                    start_time,
                    end_time,
                    place_id,
                } => Occurrence {
                    original_date: d,
                    date: *date,
                    start: date.and_time(*start_time),
                    end: date.and_time(*end_time),
                    status: OccurrenceStatus::Moved,
                    note: e.note.clone(),
                    place_id: *place_id,
                },
            },
        };
        if occ.date >= from && occ.date <= to {
            out.push(occ);
        }
    }
    out.sort_by_key(|o| o.start);
    out
}

/// The first date of a series must be a day the pattern gives: a Friday
/// first date with « lundi » chosen would silently publish Mondays from the
/// following week. For « le Nième jour du mois », the week must match too.
pub fn check_first_date(pattern: Pattern, first: NaiveDate) -> Result<(), Invalid> {
    let (Pattern::Weekly(w) | Pattern::Biweekly(w) | Pattern::MonthlyNth(_, w)) = pattern;
    let date = crate::domain::dates::short_date(first);
    if first.weekday() != w {
        return Err(Invalid::new(format!(
            "Le {date} est un {}, pas un {} : choisissez « {} » comme jour, ou une première date qui tombe un {}.",
            crate::domain::dates::weekday_name(first),
            day_name(w),
            crate::domain::dates::weekday_name(first),
            day_name(w),
        )));
    }
    if let Pattern::MonthlyNth(n, _) = pattern {
        let nth = (first.day() as i8 - 1) / 7 + 1;
        let last = (first + Duration::days(7)).month() != first.month();
        let ok = if n == -1 { last } else { n == nth };
        if !ok {
            return Err(Invalid::new(format!(
                "Le {date} n’est pas le {} {} du mois : changez la semaine du mois ou la première date.",
                nth_name(n),
                day_name(w),
            )));
        }
    }
    Ok(())
}

/// « premier », « deuxième », …, « dernier ».
pub fn nth_name(n: i8) -> &'static str {
    match n {
        1 => "premier",
        2 => "deuxième",
        3 => "troisième",
        4 => "quatrième",
        _ => "dernier",
    }
}

/// The period in French dates: « du 07/12/2026 au 30/06/2027 ».
pub fn describe_period(schedule: &Schedule) -> String {
    format!(
        "du {} au {}",
        crate::domain::dates::short_date(schedule.first_date()),
        crate::domain::dates::short_date(schedule.last_date())
    )
}

/// Human description in French: « un lundi sur deux, de 14 h à 16 h ».
pub fn describe(schedule: &Schedule) -> String {
    let slot = format!(
        "de {} à {}",
        short_time(schedule.start_time),
        short_time(schedule.end_time)
    );
    let what = match Pattern::from_rrule(&schedule.rule) {
        Some(Pattern::Weekly(w)) => format!("chaque {}", day_name(w)),
        Some(Pattern::Biweekly(w)) => format!("un {} sur deux", day_name(w)),
        Some(Pattern::MonthlyNth(-1, w)) => format!("le dernier {} du mois", day_name(w)),
        Some(Pattern::MonthlyNth(1, w)) => format!("le premier {} du mois", day_name(w)),
        Some(Pattern::MonthlyNth(n, w)) => format!("le {n}e {} du mois", day_name(w)),
        None => format!("selon la règle {}", schedule.rule),
    };
    format!("{what}, {slot}")
}

pub fn day_name(w: Weekday) -> &'static str {
    crate::domain::dates::weekday_name(
        NaiveDate::from_isoywd_opt(2024, 10, w).expect("valid ISO week"),
    )
}

/// `14 h`, `9 h 30`.
pub fn short_time(t: NaiveTime) -> String {
    use chrono::Timelike;
    if t.minute() == 0 {
        format!("{} h", t.hour())
    } else {
        format!("{} h {:02}", t.hour(), t.minute())
    }
}

/// Every Monday to Sunday week touching a month, for printable plannings.
pub fn month_bounds(year: i32, month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    Some((first, next - Duration::days(1)))
}

pub fn same_month(a: NaiveDate, b: NaiveDate) -> bool {
    a.year() == b.year() && a.month() == b.month()
}

#[cfg(test)]
mod tests {
    /// Property tests (in `recurrence/tests/fuzz.rs`).
    mod fuzz;

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, 0, 0).unwrap()
    }

    fn series(first: NaiveDate, rule: &str, from: u32, to: u32) -> Schedule {
        Schedule::new(&ScheduleInput {
            first_date: first,
            end_date: Some(d(2024, 12, 31)),
            start_time: t(from),
            end_time: t(to),
            rule,
            skip_holidays: true,
        })
        .unwrap()
    }

    fn days(occ: &[Occurrence]) -> Vec<(u32, u32)> {
        occ.iter()
            .filter(|o| o.status != OccurrenceStatus::Cancelled)
            .map(|o| (o.date.month(), o.date.day()))
            .collect()
    }

    /// Seed 000: the permanence planning of the health mediators, October to
    /// December 2024, as a coordinator would enter it: ten « une semaine sur
    /// deux » series from their first date to 31 December, holidays skipped
    /// (11 November, 1 November, 25 December fall in them), one occurrence
    /// moved to the afternoon and one cancelled.
    #[test]
    fn seed_000_planning() {
        let (from, to) = (d(2024, 10, 1), d(2024, 12, 31));
        let bi = |w| Pattern::Biweekly(w).to_rrule();
        use Weekday::*;
        let check = |s: &Schedule, exc: &[Exception], want: &[(u32, u32)], hours: (u32, u32)| {
            let occ = expand(s, exc, from, to);
            assert_eq!(days(&occ), want, "{}", s.rule);
            for o in occ
                .iter()
                .filter(|o| o.status == OccurrenceStatus::Scheduled)
            {
                assert_eq!((o.start.time(), o.end.time()), (t(hours.0), t(hours.1)));
            }
        };
        // Les lundis : 14 et 28 octobre, 25 novembre, 9 et 23 décembre, 14h-16h.
        check(
            &series(d(2024, 10, 14), &bi(Mon), 14, 16),
            &[],
            &[(10, 14), (10, 28), (11, 25), (12, 9), (12, 23)],
            (14, 16),
        );
        // Les vendredis : 11 et 25 octobre, 8 et 22 novembre, 6 et 20 décembre.
        check(
            &series(d(2024, 10, 11), &bi(Fri), 14, 16),
            &[],
            &[(10, 11), (10, 25), (11, 8), (11, 22), (12, 6), (12, 20)],
            (14, 16),
        );
        // Les mercredis : 23 octobre, 6 et 20 novembre, 4 et 18 décembre, 10h-12h.
        check(
            &series(d(2024, 10, 23), &bi(Wed), 10, 12),
            &[],
            &[(10, 23), (11, 6), (11, 20), (12, 4), (12, 18)],
            (10, 12),
        );
        // Les lundis : 7 et 21 octobre, 4 et 18 novembre, 2, 16 et 30 décembre.
        check(
            &series(d(2024, 10, 7), &bi(Mon), 14, 16),
            &[],
            &[
                (10, 7),
                (10, 21),
                (11, 4),
                (11, 18),
                (12, 2),
                (12, 16),
                (12, 30),
            ],
            (14, 16),
        );
        // Les vendredis : 4 et 18 octobre, 15 et 29 novembre, 13 et 27 décembre.
        check(
            &series(d(2024, 10, 4), &bi(Fri), 14, 16),
            &[],
            &[(10, 4), (10, 18), (11, 15), (11, 29), (12, 13), (12, 27)],
            (14, 16),
        );
        // Les mardis : 29 octobre, 12 et 26 novembre, 10 et 24 décembre.
        check(
            &series(d(2024, 10, 29), &bi(Tue), 14, 16),
            &[],
            &[(10, 29), (11, 12), (11, 26), (12, 10), (12, 24)],
            (14, 16),
        );
        // Les mercredis : 30 octobre, 13 et 27 novembre, 11 décembre (14h-16h
        // and, another place, 10h-12h): 25 December is Christmas.
        for hours in [(14, 16), (10, 12)] {
            check(
                &series(d(2024, 10, 30), &bi(Wed), hours.0, hours.1),
                &[],
                &[(10, 30), (11, 13), (11, 27), (12, 11)],
                hours,
            );
        }
        // Les vendredis 10h-12h : 25 octobre, 8 et 22 novembre, 6 décembre
        // (exceptionnellement l’après-midi de 14 à 16h) et 20 décembre.
        let s = series(d(2024, 10, 25), &bi(Fri), 10, 12);
        let moved = Exception::moved(
            d(2024, 12, 6),
            d(2024, 12, 6),
            t(14),
            t(16),
            None,
            "Exceptionnellement l’après-midi",
        )
        .unwrap();
        check(
            &s,
            std::slice::from_ref(&moved),
            &[(10, 25), (11, 8), (11, 22), (12, 6), (12, 20)],
            (10, 12),
        );
        let occ = expand(&s, &[moved], from, to);
        let dec6 = occ.iter().find(|o| o.date == d(2024, 12, 6)).unwrap();
        assert_eq!(dec6.status, OccurrenceStatus::Moved);
        assert_eq!((dec6.start.time(), dec6.end.time()), (t(14), t(16)));
        // Les mardis : 8 et 22 octobre, 5 et 19 novembre, 17 et 31 décembre:
        // the 3 December session is cancelled.
        let s = series(d(2024, 10, 8), &bi(Tue), 14, 16);
        let cancel = Exception::cancelled(d(2024, 12, 3), "Médiateurs en formation");
        check(
            &s,
            std::slice::from_ref(&cancel),
            &[(10, 8), (10, 22), (11, 5), (11, 19), (12, 17), (12, 31)],
            (14, 16),
        );
        let occ = expand(&s, &[cancel], from, to);
        assert!(occ
            .iter()
            .any(|o| o.date == d(2024, 12, 3) && o.status == OccurrenceStatus::Cancelled));
    }

    /// Issue 10: a Friday first date with « lundi » selected published
    /// Mondays from the following week; it is refused, in words.
    #[test]
    fn first_date_must_match_the_weekday() {
        let friday = d(2026, 12, 4);
        let e = check_first_date(Pattern::Biweekly(Weekday::Mon), friday).unwrap_err();
        assert_eq!(
            e.0,
            "Le 04/12/2026 est un vendredi, pas un lundi : choisissez « vendredi » comme jour, ou une première date qui tombe un lundi."
        );
        assert!(check_first_date(Pattern::Biweekly(Weekday::Fri), friday).is_ok());
        assert!(check_first_date(Pattern::Weekly(Weekday::Fri), friday).is_ok());
        // 4 December 2026 is the first Friday of the month, 25 the last.
        assert!(check_first_date(Pattern::MonthlyNth(1, Weekday::Fri), friday).is_ok());
        assert!(
            check_first_date(Pattern::MonthlyNth(2, Weekday::Fri), friday)
                .unwrap_err()
                .0
                .contains("deuxième vendredi")
        );
        assert!(check_first_date(Pattern::MonthlyNth(-1, Weekday::Fri), d(2026, 12, 25)).is_ok());
        assert!(check_first_date(Pattern::MonthlyNth(-1, Weekday::Fri), friday).is_err());
    }

    /// A holiday the series skips can be held anyway.
    #[test]
    fn a_skipped_holiday_can_be_held() {
        let s = series(
            d(2024, 10, 14),
            &Pattern::Weekly(Weekday::Mon).to_rrule(),
            14,
            16,
        );
        let (from, to) = (d(2024, 11, 1), d(2024, 11, 30));
        let mondays = |exc: &[Exception]| -> Vec<u32> {
            expand(&s, exc, from, to)
                .iter()
                .map(|o| o.date.day())
                .collect()
        };
        assert_eq!(mondays(&[]), vec![4, 18, 25]);
        assert_eq!(s.holiday_dates(), vec![d(2024, 11, 11)]);
        let held = Exception::held(d(2024, 11, 11), "Permanence maintenue");
        assert_eq!(mondays(std::slice::from_ref(&held)), vec![4, 11, 18, 25]);
        let occ = expand(&s, &[held], from, to);
        assert_eq!(occ[1].note, "Permanence maintenue");
        assert_eq!(occ[1].status, OccurrenceStatus::Scheduled);
        assert_eq!(describe_period(&s), "du 14/10/2024 au 31/12/2024");
    }

    #[test]
    fn holidays_can_be_kept() {
        let s = Schedule::new(&ScheduleInput {
            first_date: d(2024, 10, 14),
            end_date: Some(d(2024, 11, 30)),
            start_time: t(14),
            end_time: t(16),
            rule: "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
            skip_holidays: false,
        })
        .unwrap();
        assert!(s.dates().contains(&d(2024, 11, 11)));
        assert!(s.holiday_dates().is_empty());
        assert_eq!(
            s.effective_rule,
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;UNTIL=20241130T225959Z"
        );
    }

    #[test]
    fn dst_keeps_local_time() {
        let s = Schedule::new(&ScheduleInput {
            first_date: d(2024, 10, 21),
            end_date: Some(d(2024, 11, 10)),
            start_time: t(14),
            end_time: t(16),
            rule: &Pattern::Weekly(Weekday::Mon).to_rrule(),
            skip_holidays: true,
        })
        .unwrap();
        let occ = expand(&s, &[], d(2024, 10, 1), d(2024, 11, 30));
        // 21 Oct is summer time (UTC+2), 28 Oct winter time (UTC+1).
        assert_eq!(occ[0].start_utc().format("%H").to_string(), "12");
        assert_eq!(occ[1].start_utc().format("%H").to_string(), "13");
        assert_eq!(occ.len(), 3);
    }

    #[test]
    fn monthly_nth_weekday_and_count() {
        let s = Schedule::new(&ScheduleInput {
            first_date: d(2025, 1, 1),
            end_date: None,
            start_time: t(9),
            end_time: t(12),
            rule: "FREQ=MONTHLY;BYDAY=2TU;COUNT=4",
            skip_holidays: true,
        })
        .unwrap();
        assert_eq!(
            s.dates(),
            vec![
                d(2025, 1, 14),
                d(2025, 2, 11),
                d(2025, 3, 11),
                d(2025, 4, 8)
            ]
        );
        assert_eq!(s.dtstart, d(2025, 1, 14).and_time(t(9)));
        assert!(!s.effective_rule.contains("COUNT"));
        assert_eq!(
            Pattern::from_rrule(&s.rule),
            Some(Pattern::MonthlyNth(2, Weekday::Tue))
        );
        assert_eq!(describe(&s), "le 2e mardi du mois, de 9 h à 12 h");
        // The last Thursday of the month.
        assert_eq!(
            Pattern::MonthlyNth(-1, Weekday::Thu).to_rrule(),
            "FREQ=MONTHLY;BYDAY=-1TH"
        );
    }

    /// Found by the property test below: a multi-byte character in BYDAY
    /// panicked inside the rrule crate (a 500 on the series form).
    #[test]
    fn non_ascii_rules_are_refused_not_panicked() {
        for rule in [
            "FREQ=WEEKLY;BYDAY=0€",
            "FREQ=MONTHLY;BYDAY=1€",
            "FREQ=WEEKLY;BYDAY=lé",
        ] {
            let e = Schedule::new(&ScheduleInput {
                first_date: d(2026, 1, 5),
                end_date: Some(d(2026, 12, 31)),
                start_time: t(14),
                end_time: t(16),
                rule,
                skip_holidays: true,
            })
            .unwrap_err();
            assert!(e.0.contains("illisible"), "{rule}: {}", e.0);
            assert_eq!(Pattern::from_rrule(rule), None);
        }
    }

    #[test]
    fn bad_rules_are_refused() {
        let input = |rule, end: Option<NaiveDate>| ScheduleInput {
            first_date: d(2024, 10, 1),
            end_date: end,
            start_time: t(14),
            end_time: t(16),
            rule,
            skip_holidays: true,
        };
        let err = |i: ScheduleInput| Schedule::new(&i).unwrap_err().0;
        assert!(err(input("FREQ=WEEKLY;BYDAY=MO", None)).contains("ne s’arrête jamais"));
        assert!(err(input("FREQ=WEEKLY;BYDAY=MO;UNTIL=20240901T000000Z", None)).len() > 5);
        assert!(err(input("n’importe quoi", Some(d(2024, 12, 31)))).contains("illisible"));
        assert!(
            err(input("FREQ=HOURLY;BYMINUTE=0", Some(d(2024, 12, 31)))).contains("hebdomadaire")
        );
        // 1 November 2024 is a Friday and a holiday: nothing remains.
        let mut i = input("FREQ=WEEKLY;BYDAY=FR", Some(d(2024, 11, 1)));
        i.first_date = d(2024, 11, 1);
        assert!(err(i).contains("aucune date"));
        assert!(err(input("FREQ=DAILY;COUNT=5000", None)).contains("plus de"));
        let mut i = input("FREQ=WEEKLY;BYDAY=MO", Some(d(2024, 12, 31)));
        i.end_time = t(13);
        assert!(err(i).contains("heure de fin"));
        // A rule that never matches (30 February).
        assert!(Schedule::new(&input(
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            Some(d(2026, 12, 31))
        ))
        .is_err());
    }
}
