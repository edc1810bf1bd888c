//! Indicators computed from what happened: the metrics Maillage can count
//! (drop-in sessions held, people received, events, registrations, meetings
//! and their attendance, questionnaire answers, ideas) and how a list of
//! dated facts becomes an indicator's measurements — the running total
//! since the start of the indicator's period, at each quarter's end and on
//! the last day counted.

use chrono::{Datelike, NaiveDate};

use super::Invalid;

/// What a computed indicator counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// Drop-in series (`dropin_series`).
    Series,
    /// Events (`events`).
    Event,
    /// Governance bodies (`bodies`).
    Body,
    /// Questionnaires (`consultations`).
    Consultation,
    /// The whole territory (ideas).
    Territory,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Series => "series",
            SourceKind::Event => "event",
            SourceKind::Body => "body",
            SourceKind::Consultation => "consultation",
            SourceKind::Territory => "territory",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    DropinSessions,
    DropinPeople,
    EventsHeld,
    Registrations,
    PeoplePresent,
    MeetingsHeld,
    MeetingAttendance,
    QuestionnaireAnswers,
    IdeasReceived,
    /// People helped, from the mediators' activity records.
    MediatedPeople,
    /// Referrals made, from the mediators' activity records.
    MediationReferrals,
}

impl Metric {
    pub const ALL: [Metric; 11] = [
        Metric::DropinSessions,
        Metric::DropinPeople,
        Metric::EventsHeld,
        Metric::Registrations,
        Metric::PeoplePresent,
        Metric::MeetingsHeld,
        Metric::MeetingAttendance,
        Metric::QuestionnaireAnswers,
        Metric::IdeasReceived,
        Metric::MediatedPeople,
        Metric::MediationReferrals,
    ];

    /// The code stored in `indicators.source`.
    pub fn code(self) -> &'static str {
        match self {
            Metric::DropinSessions => "dropin_sessions",
            Metric::DropinPeople => "dropin_people",
            Metric::EventsHeld => "events_held",
            Metric::Registrations => "registrations",
            Metric::PeoplePresent => "people_present",
            Metric::MeetingsHeld => "meetings_held",
            Metric::MeetingAttendance => "meeting_attendance",
            Metric::QuestionnaireAnswers => "questionnaire_answers",
            Metric::IdeasReceived => "ideas_received",
            Metric::MediatedPeople => "mediated_people",
            Metric::MediationReferrals => "mediation_referrals",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Metric::DropinSessions => "Permanences tenues",
            Metric::DropinPeople => "Personnes reçues en permanence",
            Metric::EventsHeld => "Séances d’événements tenues",
            Metric::Registrations => "Inscriptions aux événements",
            Metric::PeoplePresent => "Personnes présentes aux événements",
            Metric::MeetingsHeld => "Réunions d’instances tenues",
            Metric::MeetingAttendance => "Taux de présence aux réunions",
            Metric::QuestionnaireAnswers => "Réponses aux questionnaires",
            Metric::IdeasReceived => "Idées reçues",
            Metric::MediatedPeople => "Personnes aidées par les médiateurs (fiches d’activité)",
            Metric::MediationReferrals => "Orientations faites par les médiateurs",
        }
    }

    /// The unit shown beside the values.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::DropinSessions | Metric::EventsHeld | Metric::MeetingsHeld => "séances",
            Metric::DropinPeople | Metric::PeoplePresent | Metric::MediatedPeople => "personnes",
            Metric::MediationReferrals => "orientations",
            Metric::Registrations => "inscriptions",
            Metric::MeetingAttendance => "%",
            Metric::QuestionnaireAnswers => "réponses",
            Metric::IdeasReceived => "idées",
        }
    }

    pub fn source_kind(self) -> SourceKind {
        match self {
            Metric::DropinSessions
            | Metric::DropinPeople
            | Metric::MediatedPeople
            | Metric::MediationReferrals => SourceKind::Series,
            Metric::EventsHeld | Metric::Registrations | Metric::PeoplePresent => SourceKind::Event,
            Metric::MeetingsHeld | Metric::MeetingAttendance => SourceKind::Body,
            Metric::QuestionnaireAnswers => SourceKind::Consultation,
            Metric::IdeasReceived => SourceKind::Territory,
        }
    }

    /// A rate (present / invited), not a count.
    pub fn is_rate(self) -> bool {
        self == Metric::MeetingAttendance
    }

    pub fn parse(code: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.code() == code)
    }
}

/// How an indicator gets its values: typed, or computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Manual,
    Computed(Metric),
}

impl Source {
    pub const MANUAL: &'static str = "manual";

    pub fn parse(code: &str) -> Result<Source, Invalid> {
        match code.trim() {
            "" | Source::MANUAL => Ok(Source::Manual),
            c => Metric::parse(c).map(Source::Computed).ok_or_else(|| {
                Invalid("Source des valeurs : choisissez-en une dans la liste".into())
            }),
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Source::Manual => Source::MANUAL,
            Source::Computed(m) => m.code(),
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Source::Manual => "Saisie",
            Source::Computed(m) => m.label(),
        }
    }
    pub fn metric(self) -> Option<Metric> {
        match self {
            Source::Manual => None,
            Source::Computed(m) => Some(m),
        }
    }
}

/// The word used as the measurement's source for computed values.
pub const COMPUTED_SOURCE: &str = "Maillage";

/// Something that happened on a day: `value` counted (people, sessions,
/// answers…), and for rates the `base` it is a share of (people invited).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fact {
    pub on: NaiveDate,
    pub value: f64,
    pub base: f64,
}

impl Fact {
    pub fn one(on: NaiveDate) -> Fact {
        Fact {
            on,
            value: 1.0,
            base: 0.0,
        }
    }
    pub fn count(on: NaiveDate, value: f64) -> Fact {
        Fact {
            on,
            value,
            base: 0.0,
        }
    }
}

/// The days an indicator of `[from, to]` is measured on, as of `today`:
/// each quarter's last day in the period, and the last day counted
/// (`to`, or `today` while the period runs). Empty before the period starts.
pub fn sample_dates(from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Vec<NaiveDate> {
    let last = to.min(today);
    if last < from {
        return Vec::new();
    }
    let mut out = Vec::new();
    let (mut y, mut q) = (from.year(), (from.month0() / 3) as i32);
    loop {
        let end_month = (q * 3 + 3) as u32;
        let end = if end_month == 12 {
            NaiveDate::from_ymd_opt(y, 12, 31)
        } else {
            NaiveDate::from_ymd_opt(y, end_month + 1, 1).and_then(|d| d.pred_opt())
        };
        let Some(end) = end else { break };
        if end >= last {
            break;
        }
        out.push(end);
        q += 1;
        if q == 4 {
            q = 0;
            y += 1;
        }
    }
    out.push(last);
    out
}

/// The running total (or rate, in %) of `facts` since `from`, at each
/// sample date. Facts outside `[from, to]` or after `today` do not count.
/// A rate with nobody invited yet has no value on that date.
pub fn running_values(
    metric: Metric,
    facts: &[Fact],
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Vec<(NaiveDate, f64)> {
    let last = to.min(today);
    let mut facts: Vec<&Fact> = facts
        .iter()
        .filter(|f| f.on >= from && f.on <= last)
        .collect();
    facts.sort_by_key(|f| f.on);
    let mut out = Vec::new();
    let (mut value, mut base) = (0.0, 0.0);
    let mut it = facts.into_iter().peekable();
    for d in sample_dates(from, to, today) {
        while let Some(f) = it.next_if(|f| f.on <= d) {
            value += f.value;
            base += f.base;
        }
        if metric.is_rate() {
            if base > 0.0 {
                out.push((d, (value / base * 1000.0).round() / 10.0));
            }
        } else {
            out.push((d, value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn codes_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.code()), Some(m));
            assert_eq!(Source::parse(m.code()).unwrap(), Source::Computed(m));
        }
        assert_eq!(Source::parse("").unwrap(), Source::Manual);
        assert_eq!(Source::parse("manual").unwrap(), Source::Manual);
        assert!(Source::parse("bogus").is_err());
    }

    #[test]
    fn quarters_then_the_last_day() {
        assert_eq!(
            sample_dates(d("2025-02-10"), d("2026-12-31"), d("2025-11-05")),
            vec![
                d("2025-03-31"),
                d("2025-06-30"),
                d("2025-09-30"),
                d("2025-11-05")
            ]
        );
        // A finished period ends on its last day, even on a quarter's end.
        assert_eq!(
            sample_dates(d("2024-10-01"), d("2024-12-31"), d("2026-01-01")),
            vec![d("2024-12-31")]
        );
        assert!(sample_dates(d("2027-01-01"), d("2027-12-31"), d("2026-06-01")).is_empty());
    }

    #[test]
    fn running_totals_ignore_what_is_outside() {
        let facts = [
            Fact::count(d("2024-12-31"), 100.0), // before the period
            Fact::count(d("2025-01-15"), 3.0),
            Fact::count(d("2025-03-31"), 2.0), // on the quarter's end: counted there
            Fact::count(d("2025-05-02"), 4.0),
            Fact::count(d("2025-07-01"), 50.0), // after today
        ];
        let v = running_values(
            Metric::DropinPeople,
            &facts,
            d("2025-01-01"),
            d("2025-12-31"),
            d("2025-06-10"),
        );
        assert_eq!(v, vec![(d("2025-03-31"), 5.0), (d("2025-06-10"), 9.0)]);
    }

    #[test]
    fn rates_are_shares_of_the_invited() {
        let facts = [
            Fact {
                on: d("2025-02-01"),
                value: 6.0,
                base: 8.0,
            },
            Fact {
                on: d("2025-05-01"),
                value: 3.0,
                base: 4.0,
            },
        ];
        let v = running_values(
            Metric::MeetingAttendance,
            &facts,
            d("2025-01-01"),
            d("2025-06-30"),
            d("2026-01-01"),
        );
        assert_eq!(v, vec![(d("2025-03-31"), 75.0), (d("2025-06-30"), 75.0)]);
        let none = running_values(
            Metric::MeetingAttendance,
            &[],
            d("2025-01-01"),
            d("2025-06-30"),
            d("2026-01-01"),
        );
        assert!(none.is_empty(), "no rate without anybody invited");
    }
}
