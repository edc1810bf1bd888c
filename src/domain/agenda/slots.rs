//! Bookable slots inside a drop-in series (issue 16): the slots of an
//! occurrence, when they may be booked, what remains, booking statuses and
//! no-show rates, and the contact a person leaves (a phone number in E.164,
//! or an e-mail). No I/O.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;

use super::recurrence::{expand, Exception, Occurrence, OccurrenceStatus, Schedule};
use crate::domain::Invalid;

pub const MAX_SLOT_MINUTES: i64 = 240;
pub const MAX_PER_SLOT: i64 = 20;
pub const MAX_OPEN_DAYS: i64 = 90;
pub const MAX_CLOSE_HOURS: i64 = 168;

/// How a series' drop-ins are cut into bookable slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotSettings {
    /// Length of one slot, in minutes.
    pub slot_minutes: i64,
    /// People who may book the same slot.
    pub per_slot: i64,
    /// Booking opens this many days before the slot.
    pub open_days_before: i64,
    /// Booking closes this many hours before the slot.
    pub close_hours_before: i64,
}

impl Default for SlotSettings {
    fn default() -> Self {
        SlotSettings {
            slot_minutes: 20,
            per_slot: 1,
            open_days_before: 21,
            close_hours_before: 2,
        }
    }
}

fn number(
    raw: &str,
    field: &'static str,
    label: &str,
    min: i64,
    max: i64,
    errors: &mut Vec<(&'static str, String)>,
) -> i64 {
    match raw.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => n,
        _ => {
            errors.push((
                field,
                format!("{label} : un nombre entier de {min} à {max}."),
            ));
            0
        }
    }
}

impl SlotSettings {
    /// The settings as typed in the back office, every error at once.
    pub fn parse(
        slot_minutes: &str,
        per_slot: &str,
        open_days_before: &str,
        close_hours_before: &str,
    ) -> Result<SlotSettings, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let s = SlotSettings {
            slot_minutes: number(
                slot_minutes,
                "slot_minutes",
                "Durée d’un créneau (minutes)",
                5,
                MAX_SLOT_MINUTES,
                &mut errors,
            ),
            per_slot: number(
                per_slot,
                "per_slot",
                "Personnes par créneau",
                1,
                MAX_PER_SLOT,
                &mut errors,
            ),
            open_days_before: number(
                open_days_before,
                "open_days_before",
                "Réservable à partir de (jours avant)",
                1,
                MAX_OPEN_DAYS,
                &mut errors,
            ),
            close_hours_before: number(
                close_hours_before,
                "close_hours_before",
                "Jusqu’à (heures avant)",
                0,
                MAX_CLOSE_HOURS,
                &mut errors,
            ),
        };
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }
}

fn paris_utc(dt: NaiveDateTime) -> DateTime<Utc> {
    Paris
        .from_local_datetime(&dt)
        .earliest()
        .unwrap_or_else(|| Paris.from_utc_datetime(&dt))
        .with_timezone(&Utc)
}

/// The occurrence the rule gives on `original_date`, with its exception
/// applied (moved, cancelled, held), or `None` when the series has no such
/// date (or it is a skipped holiday).
pub fn occurrence_of(
    schedule: &Schedule,
    exceptions: &[Exception],
    original_date: NaiveDate,
) -> Option<Occurrence> {
    let from = schedule.first_date().min(original_date) - Duration::days(400);
    let to = schedule.last_date().max(original_date) + Duration::days(400);
    expand(schedule, exceptions, from, to)
        .into_iter()
        .find(|o| o.original_date == original_date)
}

/// The start of each slot of an occurrence (local Paris time): whole slots
/// from its start, the last one ending by its end. A cancelled occurrence
/// has none; a moved one has them at its new times.
pub fn slots(occ: &Occurrence, s: &SlotSettings) -> Vec<NaiveDateTime> {
    let mut out = Vec::new();
    if occ.status == OccurrenceStatus::Cancelled || s.slot_minutes <= 0 {
        return out;
    }
    let step = Duration::minutes(s.slot_minutes);
    let mut at = occ.start;
    while at + step <= occ.end {
        out.push(at);
        at += step;
    }
    out
}

/// Why a slot cannot be booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Off,
    Cancelled,
    NotASlot,
    Past,
    NotYetOpen(NaiveDateTime),
    Closed,
    Full,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Off => f.write_str("Cette permanence ne prend pas de rendez-vous en ligne."),
            Refusal::Cancelled => f.write_str("Cette permanence est annulée : choisissez une autre date."),
            Refusal::NotASlot => f.write_str("Ce créneau n’existe pas : choisissez-en un dans la liste."),
            Refusal::Past => f.write_str("Ce créneau est passé : choisissez-en un autre."),
            Refusal::NotYetOpen(at) => write!(
                f,
                "Ce créneau ne se réserve qu’à partir du {} à {}.",
                crate::domain::dates::short_date(at.date()),
                super::recurrence::short_time(at.time())
            ),
            Refusal::Closed => f.write_str(
                "Ce créneau est trop proche pour être réservé en ligne : appelez la coordination ou venez sur place.",
            ),
            Refusal::Full => f.write_str("Ce créneau vient d’être pris : choisissez-en un autre."),
        }
    }
}

/// May a slot starting at `slot` (Paris time) be booked at `now`? Staff
/// booking for someone (`staff`) skip the opening and closing window, not
/// the past.
pub fn window_check(
    slot: NaiveDateTime,
    now: DateTime<Utc>,
    s: &SlotSettings,
    staff: bool,
) -> Result<(), Refusal> {
    let starts = paris_utc(slot);
    if starts <= now {
        return Err(Refusal::Past);
    }
    if staff {
        return Ok(());
    }
    let opens = slot - Duration::days(s.open_days_before);
    if paris_utc(opens) > now {
        return Err(Refusal::NotYetOpen(opens));
    }
    if starts - Duration::hours(s.close_hours_before) < now {
        return Err(Refusal::Closed);
    }
    Ok(())
}

/// The last date (Paris) on which a slot may be open at `today`.
pub fn horizon(today: NaiveDate, s: &SlotSettings) -> NaiveDate {
    today + Duration::days(s.open_days_before)
}

/// Places left in a slot.
pub fn remaining(s: &SlotSettings, taken: i64) -> i64 {
    (s.per_slot - taken).max(0)
}

/// Where a booked slot goes when its occurrence changes from `before` to
/// `after`: the same offset from the start, or `None` when the occurrence
/// is cancelled or the slot no longer fits.
pub fn moved_slot(
    before: &Occurrence,
    after: &Occurrence,
    slot_start: NaiveTime,
    s: &SlotSettings,
) -> Option<NaiveDateTime> {
    if after.status == OccurrenceStatus::Cancelled {
        return None;
    }
    let offset = before.date.and_time(slot_start) - before.start;
    let new = after.start + offset;
    slots(after, s).contains(&new).then_some(new)
}

/// A booking's status: booked, then on the day present / absent / excused,
/// or cancelled (by the person, the staff or a cancelled occurrence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingStatus {
    Booked,
    Cancelled,
    Present,
    Absent,
    Excused,
}

impl BookingStatus {
    pub const MARKS: [BookingStatus; 4] = [
        BookingStatus::Present,
        BookingStatus::Absent,
        BookingStatus::Excused,
        BookingStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Booked => "booked",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::Present => "present",
            BookingStatus::Absent => "absent",
            BookingStatus::Excused => "excused",
        }
    }

    pub fn parse(s: &str) -> Option<BookingStatus> {
        match s {
            "booked" => Some(BookingStatus::Booked),
            "cancelled" => Some(BookingStatus::Cancelled),
            "present" => Some(BookingStatus::Present),
            "absent" => Some(BookingStatus::Absent),
            "excused" => Some(BookingStatus::Excused),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BookingStatus::Booked => "réservé",
            BookingStatus::Cancelled => "annulé",
            BookingStatus::Present => "venu·e",
            BookingStatus::Absent => "absent·e",
            BookingStatus::Excused => "excusé·e",
        }
    }

    /// Holds a place in its slot.
    pub fn holds_place(self) -> bool {
        self != BookingStatus::Cancelled
    }
}

/// Outcomes of the bookings of a series or a commune.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoShow {
    pub present: i64,
    pub absent: i64,
    pub excused: i64,
}

impl NoShow {
    /// Share of the bookings checked on the day (present, absent, excused)
    /// where the person neither came nor warned; `None` before any check.
    #[allow(clippy::cast_precision_loss)]
    pub fn rate(&self) -> Option<f64> {
        let due = self.present + self.absent + self.excused;
        (due > 0).then(|| self.absent as f64 / due as f64)
    }

    /// « 12 % (3 absences sur 25 rendez-vous pointés) » or « pas encore de pointage ».
    pub fn label(&self) -> String {
        match self.rate() {
            None => "pas encore de pointage".into(),
            Some(r) => format!(
                "{} % ({} absence{} sans prévenir sur {} rendez-vous pointé{})",
                (r * 100.0).round(),
                self.absent,
                if self.absent > 1 { "s" } else { "" },
                self.present + self.absent + self.excused,
                if self.present + self.absent + self.excused > 1 {
                    "s"
                } else {
                    ""
                }
            ),
        }
    }
}

/// A phone number as people type it, in E.164 (`+33612345678`): see
/// `domain::phone` (French spellings, overseas departments, `+CC…` or
/// `00CC…`), with the refusal in a sentence that quotes what was typed.
pub fn parse_phone_e164(raw: &str) -> Result<String, Invalid> {
    crate::domain::phone::parse(raw).map_err(|e| match e {
        crate::domain::phone::PhoneError::Empty => Invalid::new("Indiquez un numéro de téléphone."),
        e => {
            let shown: String = raw.trim().chars().take(40).collect();
            Invalid::new(format!(
                "« {shown} » n’est pas un numéro de téléphone : {e}."
            ))
        }
    })
}

/// `+33612345678` → `06 12 34 56 78`; other numbers as stored.
pub use crate::domain::phone::display as phone_display;

/// Who books, as typed on the form and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBooking {
    pub name: String,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl NewBooking {
    /// Name, then a phone number or an e-mail (at least one), and the
    /// consent (required for self-service; staff booking by phone have
    /// asked it aloud).
    pub fn parse(
        name: &str,
        phone: &str,
        email: &str,
        consent: bool,
    ) -> Result<NewBooking, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let name = name.trim();
        if name.is_empty() {
            errors.push(("name", "Indiquez votre nom.".to_owned()));
        } else if name.chars().count() > super::event::NAME_MAX || name.contains(['\n', '\r']) {
            errors.push((
                "name",
                format!(
                    "Nom : une seule ligne, {} caractères au plus.",
                    super::event::NAME_MAX
                ),
            ));
        }
        let phone = match phone.trim() {
            "" => None,
            p => match parse_phone_e164(p) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(("phone", e.0));
                    None
                }
            },
        };
        let email = match email.trim() {
            "" => None,
            e => match crate::domain::codes::Email::parse(e) {
                Ok(e) => Some(e.as_str().to_owned()),
                Err(e) => {
                    errors.push(("email", e.0));
                    None
                }
            },
        };
        if phone.is_none() && email.is_none() && !errors.iter().any(|(f, _)| *f != "name") {
            errors.push((
                "phone",
                "Laissez un numéro de téléphone ou une adresse e-mail, pour être prévenu·e d’un changement."
                    .to_owned(),
            ));
        }
        if !consent {
            errors.push((
                "consent",
                "Cochez la case pour accepter que ces coordonnées servent à gérer votre rendez-vous."
                    .to_owned(),
            ));
        }
        if errors.is_empty() {
            Ok(NewBooking {
                name: name.to_owned(),
                phone,
                email,
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agenda::recurrence::{Pattern, ScheduleInput};
    use chrono::Weekday;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn schedule() -> Schedule {
        // Mondays 14:00–16:00 from 2026-10-05 to the end of 2026; the
        // 2026-11-02 is not a holiday, the 2026-11-11 is a Wednesday.
        Schedule::new(&ScheduleInput {
            first_date: d(2026, 10, 5),
            end_date: Some(d(2026, 12, 28)),
            start_time: hm(14, 0),
            end_time: hm(16, 0),
            rule: &Pattern::Weekly(Weekday::Mon).to_rrule(),
            skip_holidays: true,
        })
        .unwrap()
    }
    fn settings() -> SlotSettings {
        SlotSettings {
            slot_minutes: 30,
            per_slot: 2,
            open_days_before: 14,
            close_hours_before: 2,
        }
    }
    fn utc(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
        paris_utc(d(y, m, day).and_time(hm(h, min)))
    }

    #[test]
    fn an_occurrence_is_cut_into_whole_slots() {
        let occ = occurrence_of(&schedule(), &[], d(2026, 10, 12)).unwrap();
        let s = slots(&occ, &settings());
        assert_eq!(s.len(), 4);
        assert_eq!(s[0], d(2026, 10, 12).and_time(hm(14, 0)));
        assert_eq!(s[3], d(2026, 10, 12).and_time(hm(15, 30)));
        // 45-minute slots in two hours: two whole ones, not a third cut short.
        let long = SlotSettings {
            slot_minutes: 45,
            ..settings()
        };
        assert_eq!(slots(&occ, &long).len(), 2);
    }

    #[test]
    fn moved_occurrences_move_their_slots_cancelled_ones_have_none() {
        let moved = Exception::moved(
            d(2026, 10, 12),
            d(2026, 10, 13),
            hm(9, 0),
            hm(10, 0),
            None,
            "",
        )
        .unwrap();
        let cancelled = Exception::cancelled(d(2026, 10, 19), "grève");
        let exc = vec![moved, cancelled];
        let occ = occurrence_of(&schedule(), &exc, d(2026, 10, 12)).unwrap();
        assert_eq!(
            slots(&occ, &settings()),
            vec![
                d(2026, 10, 13).and_time(hm(9, 0)),
                d(2026, 10, 13).and_time(hm(9, 30))
            ]
        );
        let occ = occurrence_of(&schedule(), &exc, d(2026, 10, 19)).unwrap();
        assert!(slots(&occ, &settings()).is_empty());
        // Where a booked slot goes.
        let before = occurrence_of(&schedule(), &[], d(2026, 10, 12)).unwrap();
        let after = occurrence_of(&schedule(), &exc, d(2026, 10, 12)).unwrap();
        assert_eq!(
            moved_slot(&before, &after, hm(14, 30), &settings()),
            Some(d(2026, 10, 13).and_time(hm(9, 30)))
        );
        // The 15:30 slot does not fit in the shorter moved session.
        assert_eq!(moved_slot(&before, &after, hm(15, 30), &settings()), None);
        let gone = occurrence_of(&schedule(), &exc, d(2026, 10, 19)).unwrap();
        let was = occurrence_of(&schedule(), &[], d(2026, 10, 19)).unwrap();
        assert_eq!(moved_slot(&was, &gone, hm(14, 0), &settings()), None);
    }

    #[test]
    fn skipped_holidays_and_unknown_dates_have_no_occurrence() {
        // A Tuesday is not a date of this Monday series.
        assert!(occurrence_of(&schedule(), &[], d(2026, 10, 13)).is_none());
        let whit = Schedule::new(&ScheduleInput {
            first_date: d(2027, 5, 10),
            end_date: Some(d(2027, 5, 31)),
            start_time: hm(14, 0),
            end_time: hm(16, 0),
            rule: &Pattern::Weekly(Weekday::Mon).to_rrule(),
            skip_holidays: true,
        })
        .unwrap();
        // Whit Monday 2027 (17 May) is skipped.
        assert!(occurrence_of(&whit, &[], d(2027, 5, 17)).is_none());
        assert!(occurrence_of(&whit, &[], d(2027, 5, 24)).is_some());
    }

    #[test]
    fn the_booking_window() {
        let s = settings();
        let slot = d(2026, 10, 26).and_time(hm(14, 0));
        // Past.
        assert_eq!(
            window_check(slot, utc(2026, 10, 26, 14, 0), &s, false),
            Err(Refusal::Past)
        );
        assert_eq!(
            window_check(slot, utc(2026, 10, 26, 14, 1), &s, true),
            Err(Refusal::Past)
        );
        // Too early: opens 14 days before, at the slot's time.
        assert!(matches!(
            window_check(slot, utc(2026, 10, 12, 13, 59), &s, false),
            Err(Refusal::NotYetOpen(_))
        ));
        assert_eq!(
            window_check(slot, utc(2026, 10, 12, 14, 0), &s, false),
            Ok(())
        );
        // Too late: closes two hours before.
        assert_eq!(
            window_check(slot, utc(2026, 10, 26, 12, 1), &s, false),
            Err(Refusal::Closed)
        );
        assert_eq!(
            window_check(slot, utc(2026, 10, 26, 12, 0), &s, false),
            Ok(())
        );
        // Staff skip the window, not the past.
        assert_eq!(
            window_check(slot, utc(2026, 10, 26, 13, 0), &s, true),
            Ok(())
        );
        assert_eq!(window_check(slot, utc(2026, 9, 1, 13, 0), &s, true), Ok(()));
        let early = window_check(slot, utc(2026, 10, 1, 9, 0), &s, false).unwrap_err();
        assert!(
            early.to_string().contains("à partir du 12/10/2026"),
            "{early}"
        );
    }

    #[test]
    fn remaining_capacity() {
        assert_eq!(remaining(&settings(), 0), 2);
        assert_eq!(remaining(&settings(), 1), 1);
        assert_eq!(remaining(&settings(), 2), 0);
        assert_eq!(remaining(&settings(), 5), 0);
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(SlotSettings::parse("30", "2", "14", "2"), Ok(settings()));
        let errors = SlotSettings::parse("0", "x", "", "1000").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                "slot_minutes",
                "per_slot",
                "open_days_before",
                "close_hours_before"
            ]
        );
    }

    #[test]
    fn french_and_international_phones() {
        for ok in [
            "06 12 34 56 78",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "0612345678",
            "+33 6 12 34 56 78",
            "+33612345678",
            "+33 (0)6 12 34 56 78",
            "0033 6 12 34 56 78",
            "0033612345678",
        ] {
            assert_eq!(parse_phone_e164(ok).unwrap(), "+33612345678", "{ok}");
        }
        assert_eq!(parse_phone_e164("03 21 69 86 00").unwrap(), "+33321698600");
        assert_eq!(parse_phone_e164("+32 2 555 12 34").unwrap(), "+3225551234");
        assert_eq!(parse_phone_e164("0032 2 555 12 34").unwrap(), "+3225551234");
        assert_eq!(
            parse_phone_e164("+1 (202) 555-0143").unwrap(),
            "+12025550143"
        );
        for bad in [
            "06 12 34 56",
            "6 12 34 56 78",
            "+33 6 12 34",
            "06 12 34 56 78 9",
            "abc",
            "06 12 34 56 7a",
            "+0 612345678",
            "12+34567890",
            "+1234567",
            "",
        ] {
            let e = parse_phone_e164(bad).unwrap_err();
            assert!(!e.0.is_empty(), "{bad}");
        }
        assert!(parse_phone_e164("06 12")
            .unwrap_err()
            .0
            .contains("n’est pas un numéro"));
        assert_eq!(phone_display("+33612345678"), "06 12 34 56 78");
        assert_eq!(phone_display("+3225551234"), "+3225551234");
    }

    #[test]
    fn a_booking_needs_a_name_a_contact_and_consent() {
        let b = NewBooking::parse(" Awa Diallo ", "06 12 34 56 78", "", true).unwrap();
        assert_eq!(b.name, "Awa Diallo");
        assert_eq!(b.phone.as_deref(), Some("+33612345678"));
        assert_eq!(b.email, None);
        let b = NewBooking::parse("Awa", "", "Awa@Exemple.fr", true).unwrap();
        assert_eq!(b.email.as_deref(), Some("awa@exemple.fr"));
        let e = NewBooking::parse("", "", "", false).unwrap_err();
        let fields: Vec<_> = e.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["name", "phone", "consent"]);
        let e = NewBooking::parse("Awa", "06 12", "pas-une-adresse", true).unwrap_err();
        let fields: Vec<_> = e.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["phone", "email"]);
    }

    #[test]
    fn no_show_rate() {
        assert_eq!(NoShow::default().rate(), None);
        assert_eq!(NoShow::default().label(), "pas encore de pointage");
        let n = NoShow {
            present: 6,
            absent: 3,
            excused: 1,
        };
        assert_eq!(n.rate(), Some(0.3));
        assert!(n
            .label()
            .starts_with("30 % (3 absences sans prévenir sur 10"));
        assert!(BookingStatus::MARKS
            .iter()
            .all(|m| BookingStatus::parse(m.as_str()) == Some(*m)));
        assert!(!BookingStatus::Cancelled.holds_place());
        assert!(BookingStatus::Absent.holds_place());
    }
}
