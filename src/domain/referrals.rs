//! Referrals to services (issue 16): a mediator or a partner sends a person,
//! with their consent, to a directory entry (a professional, an
//! establishment or a local service); the service answers through a link
//! (accept, or refuse with a reason), reminders go out while nobody answers
//! and the referral expires after a set time. Pure rules: the statuses, the
//! checks of the forms, the reminder times and the texts of the notices.

use chrono::{DateTime, Duration, Utc};

use super::agenda::activity::Theme;
use super::agenda::slots::NewBooking;
use super::codes::Email;

/// Days before an unanswered referral expires, unless the territory says.
pub const DEFAULT_EXPIRY_DAYS: i64 = 21;
/// Days between the referral and the service's reminders, unless the
/// territory says (a reminder every this many days, at most
/// [`MAX_REMINDERS`], never after the expiry).
pub const DEFAULT_REMINDER_DAYS: i64 = 5;
pub const MAX_REMINDERS: i64 = 2;
/// Bounds of the coordination's settings.
pub const EXPIRY_DAYS: std::ops::RangeInclusive<i64> = 2..=120;
pub const REMINDER_DAYS: std::ops::RangeInclusive<i64> = 1..=60;
pub const NOTE_MAX: usize = 600;
pub const ANSWER_MAX: usize = 400;

/// Where a referral stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Sent, waiting for the service's answer.
    Sent,
    Accepted,
    Refused,
    /// Nobody answered in time.
    Expired,
    /// Withdrawn by whoever sent it.
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Sent,
        Status::Accepted,
        Status::Refused,
        Status::Expired,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Sent => "sent",
            Status::Accepted => "accepted",
            Status::Refused => "refused",
            Status::Expired => "expired",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Sent => "en attente de réponse",
            Status::Accepted => "acceptée",
            Status::Refused => "refusée",
            Status::Expired => "expirée sans réponse",
            Status::Cancelled => "annulée",
        }
    }

    /// Waiting for an answer: the only status that can change.
    pub fn is_open(self) -> bool {
        self == Status::Sent
    }
}

/// Counts by outcome, in the order of [`Status::ALL`].
pub type Outcomes = [i64; 5];

/// The share accepted among the referrals answered or expired (« 60 % »),
/// « — » before any.
pub fn accepted_share(by_status: &Outcomes) -> String {
    let accepted = by_status[1];
    let answered = by_status[1] + by_status[2] + by_status[3];
    if answered == 0 {
        return "—".into();
    }
    format!("{} %", (accepted * 100 + answered / 2) / answered)
}

/// The kinds of directory entries one can refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    Establishment,
    Professional,
    Service,
}

impl EntryKind {
    pub const ALL: [EntryKind; 3] = [
        EntryKind::Establishment,
        EntryKind::Professional,
        EntryKind::Service,
    ];

    /// The code stored (as in `directory_marks.entry_kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Establishment => "establishment",
            EntryKind::Professional => "professional",
            EntryKind::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Establishment => "établissement",
            EntryKind::Professional => "professionnel de santé",
            EntryKind::Service => "service local",
        }
    }

    /// `etablissement:620000029` in links to the form.
    pub fn url_code(self) -> &'static str {
        match self {
            EntryKind::Establishment => "etablissement",
            EntryKind::Professional => "professionnel",
            EntryKind::Service => "service",
        }
    }

    pub fn from_url_code(s: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.url_code() == s)
    }
}

/// `etablissement:620000029` → (kind, id); the id is checked for its shape
/// (nine characters for FINESS, eleven digits for RPPS, a number for a
/// local service) before any lookup.
pub fn parse_entry(s: &str) -> Option<(EntryKind, String)> {
    let (kind, id) = s.trim().split_once(':')?;
    let kind = EntryKind::from_url_code(kind)?;
    let id = id.trim();
    let ok = match kind {
        EntryKind::Establishment => id.len() == 9 && id.chars().all(|c| c.is_ascii_alphanumeric()),
        EntryKind::Professional => {
            (11..=12).contains(&id.len()) && id.chars().all(|c| c.is_ascii_digit())
        }
        EntryKind::Service => id.parse::<i64>().is_ok_and(|n| n > 0),
    };
    ok.then(|| (kind, id.to_owned()))
}

/// A referral as typed, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferralInput {
    pub person: NewBooking,
    pub theme: Theme,
    /// What the service should know (no health details: the form says so).
    pub note: String,
    /// Where the link goes.
    pub service_email: String,
}

/// The referral form's fields, as posted.
#[derive(Debug, Clone, Default)]
pub struct ReferralFields<'a> {
    pub name: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub consent: bool,
    pub theme: &'a str,
    pub note: &'a str,
    pub service_email: &'a str,
}

impl ReferralInput {
    /// Every field checked; the errors by field name, in French.
    pub fn parse(f: &ReferralFields) -> Result<ReferralInput, Vec<(&'static str, String)>> {
        let (person, mut errors) = match NewBooking::parse(f.name, f.phone, f.email, true) {
            Ok(p) => (Some(p), Vec::new()),
            Err(e) => (None, e),
        };
        if !f.consent {
            errors.push((
                "consent",
                "La personne doit avoir accepté que ses coordonnées soient transmises au service : cochez la case une fois son accord demandé.".to_owned(),
            ));
        }
        let theme = Theme::ALL.into_iter().find(|t| t.code() == f.theme);
        if theme.is_none() {
            errors.push(("theme", "Choisissez le motif de l’orientation.".to_owned()));
        }
        let note = f.note.trim().replace("\r\n", "\n");
        if note.chars().count() > NOTE_MAX {
            errors.push((
                "note",
                format!("Message au service : {NOTE_MAX} caractères au plus."),
            ));
        }
        let service_email = match f.service_email.trim() {
            "" => {
                errors.push((
                    "service_email",
                    "Indiquez l’adresse e-mail du service : le lien pour répondre y sera envoyé."
                        .to_owned(),
                ));
                None
            }
            e => match Email::parse(e) {
                Ok(e) => Some(e.as_str().to_owned()),
                Err(e) => {
                    errors.push(("service_email", e.0));
                    None
                }
            },
        };
        match (person, theme, service_email, errors.is_empty()) {
            (Some(person), Some(theme), Some(service_email), true) => Ok(ReferralInput {
                person,
                theme,
                note,
                service_email,
            }),
            _ => Err(errors),
        }
    }
}

/// The service's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Accept { message: String },
    Refuse { reason: String },
}

impl Answer {
    /// `decision` is `accepter` or `refuser`; a refusal needs its reason.
    pub fn parse(decision: &str, text: &str) -> Result<Answer, (&'static str, String)> {
        let text = text.trim().replace("\r\n", "\n");
        if text.chars().count() > ANSWER_MAX {
            return Err((
                "reason",
                format!("Votre message : {ANSWER_MAX} caractères au plus."),
            ));
        }
        match decision {
            "accepter" => Ok(Answer::Accept { message: text }),
            "refuser" if text.is_empty() => Err((
                "reason",
                "Indiquez la raison du refus : la personne et l’équipe qui l’oriente la liront."
                    .to_owned(),
            )),
            "refuser" => Ok(Answer::Refuse { reason: text }),
            _ => Err((
                "decision",
                "Choisissez : accepter ou refuser l’orientation.".to_owned(),
            )),
        }
    }

    pub fn status(&self) -> Status {
        match self {
            Answer::Accept { .. } => Status::Accepted,
            Answer::Refuse { .. } => Status::Refused,
        }
    }

    pub fn text(&self) -> &str {
        match self {
            Answer::Accept { message } => message,
            Answer::Refuse { reason } => reason,
        }
    }
}

/// The coordination's settings, checked.
pub fn parse_settings(
    expiry: &str,
    reminder: &str,
) -> Result<(i64, i64), Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let expiry = expiry
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| EXPIRY_DAYS.contains(d));
    if expiry.is_none() {
        errors.push((
            "expiry_days",
            format!(
                "Délai d’expiration : un nombre de jours entre {} et {}.",
                EXPIRY_DAYS.start(),
                EXPIRY_DAYS.end()
            ),
        ));
    }
    let reminder = reminder
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| REMINDER_DAYS.contains(d));
    if reminder.is_none() {
        errors.push((
            "reminder_days",
            format!(
                "Relance : un nombre de jours entre {} et {}.",
                REMINDER_DAYS.start(),
                REMINDER_DAYS.end()
            ),
        ));
    }
    match (expiry, reminder) {
        (Some(e), Some(r)) if r < e => Ok((e, r)),
        (Some(_), Some(_)) => Err(vec![(
            "reminder_days",
            "La relance doit partir avant l’expiration : choisissez moins de jours.".to_owned(),
        )]),
        _ => Err(errors),
    }
}

/// When the service is reminded: every `reminder_days` after `sent_at`,
/// at the reminders' hour (10:00 Paris) on a working day (moved forward
/// past week-ends and public holidays: services are closed then), at most
/// [`MAX_REMINDERS`] times, and only before the referral expires.
pub fn reminder_times(
    sent_at: DateTime<Utc>,
    reminder_days: i64,
    expires_at: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    use chrono::{Datelike, NaiveTime, TimeZone, Weekday};
    use chrono_tz::Europe::Paris;
    let hour = NaiveTime::from_hms_opt(super::messages::REMINDER_HOUR, 0, 0).unwrap_or_default();
    let closed = |d: chrono::NaiveDate| {
        matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
            || super::agenda::holidays::holiday_name(d).is_some()
    };
    (1..=MAX_REMINDERS)
        .filter_map(|n| {
            let due = sent_at + Duration::days(reminder_days * n);
            let mut day = due.with_timezone(&Paris).date_naive();
            for _ in 0..15 {
                let at = Paris
                    .from_local_datetime(&day.and_time(hour))
                    .earliest()?
                    .with_timezone(&Utc);
                if at >= due && !closed(day) {
                    return (at < expires_at).then_some(at);
                }
                day += Duration::days(1);
            }
            None
        })
        .collect()
}

/// `Orientation vers « Centre de santé » : demande de la coordination de
/// « CLS de Lens - Liévin »`. The texts of the notices, plain French.
pub mod texts {
    use super::*;

    pub struct Context<'a> {
        pub territory: &'a str,
        pub service: &'a str,
        pub theme: Theme,
        pub link: &'a str,
        pub expires: &'a str,
    }

    /// To the service, when the referral is made (and reminded).
    pub fn to_service(c: &Context, note: &str, reminder: bool) -> (String, String) {
        let subject = if reminder {
            format!("Rappel : une personne vous est orientée ({})", c.territory)
        } else {
            format!("Une personne vous est orientée ({})", c.territory)
        };
        let mut body = String::from("Bonjour,\n\n");
        if reminder {
            body.push_str("Nous n’avons pas encore reçu votre réponse à cette orientation.\n\n");
        }
        body.push_str(&format!(
            "L’équipe de médiation en santé de « {} » oriente vers « {} » une personne qui l’a accepté, pour : {}.\n",
            c.territory,
            c.service,
            c.theme.label()
        ));
        if !note.is_empty() {
            body.push_str(&format!("\nMessage de l’équipe :\n{note}\n"));
        }
        body.push_str(&format!(
            "\nPour voir ses coordonnées et répondre (accepter, ou refuser en donnant la raison) :\n{}\n\n\
             Sans réponse, l’orientation expire le {}.\n\
             Ce lien est personnel : ne le transférez pas.\n",
            c.link, c.expires
        ));
        (subject, body)
    }

    /// To the person, when the referral is made (an SMS: short, in the GSM
    /// alphabet where French allows it).
    pub fn to_person_sent(c: &Context) -> String {
        crate::domain::messages::gsm_friendly(&format!(
            "{} : vous êtes orienté(e) vers {} ({}). Nous vous prévenons dès sa réponse.",
            c.territory,
            c.service,
            c.theme.label()
        ))
    }

    /// To the person, when the service answered or nobody did.
    pub fn to_person_outcome(
        c: &Context,
        status: Status,
        text: &str,
        service_phone: &str,
    ) -> String {
        let s = match status {
            Status::Accepted => {
                let mut s = format!("{} accepte votre orientation et va vous contacter.", c.service);
                if !service_phone.is_empty() {
                    s.push_str(&format!(" Tél. : {service_phone}."));
                }
                if !text.is_empty() {
                    s.push_str(&format!(" {text}"));
                }
                s
            }
            Status::Refused => format!(
                "{} ne peut pas vous recevoir : {text}. L’équipe de médiation va vous recontacter.",
                c.service
            ),
            Status::Expired => format!(
                "{} n’a pas répondu à votre orientation. L’équipe de médiation va vous recontacter.",
                c.service
            ),
            Status::Cancelled => format!("Votre orientation vers {} est annulée.", c.service),
            Status::Sent => return to_person_sent(c),
        };
        crate::domain::messages::gsm_friendly(&s)
    }

    /// To whoever sent the referral, when it is answered or expires.
    pub fn to_sender(c: &Context, status: Status, text: &str, page: &str) -> (String, String) {
        let subject = format!("Orientation vers « {} » : {}", c.service, status.label());
        let mut body = format!(
            "Bonjour,\n\nL’orientation vers « {} » ({}) est {}.\n",
            c.service,
            c.theme.label(),
            status.label()
        );
        if !text.is_empty() {
            body.push_str(&format!("\nMessage du service :\n{text}\n"));
        }
        body.push_str(&format!("\nVos orientations : {page}\n"));
        (subject, body)
    }

    /// To the service, when the sender withdraws the referral.
    pub fn to_service_cancelled(c: &Context) -> (String, String) {
        (
            format!("Orientation annulée ({})", c.territory),
            format!(
                "Bonjour,\n\nL’équipe de médiation en santé de « {} » a annulé l’orientation qu’elle vous avait envoyée ({}). \
                 Le lien reçu ne sert plus.\n",
                c.territory,
                c.theme.label()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fields<'a>() -> ReferralFields<'a> {
        ReferralFields {
            name: "Mme Durand",
            phone: "06 12 34 56 78",
            email: "",
            consent: true,
            theme: "medecin-traitant",
            note: "Cherche un médecin traitant.",
            service_email: "accueil@centre-sante.fr",
        }
    }

    #[test]
    fn a_complete_form_is_accepted() {
        let r = ReferralInput::parse(&fields()).unwrap();
        assert_eq!(r.person.phone.as_deref(), Some("+33612345678"));
        assert_eq!(r.theme, Theme::FindGp);
        assert_eq!(r.service_email, "accueil@centre-sante.fr");
    }

    #[test]
    fn every_missing_piece_is_named() {
        let f = ReferralFields {
            name: "",
            phone: "12",
            consent: false,
            theme: "",
            service_email: "pas-une-adresse",
            ..fields()
        };
        let errors = ReferralInput::parse(&f).unwrap_err();
        let named: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        for field in ["name", "phone", "consent", "theme", "service_email"] {
            assert!(named.contains(&field), "{field} missing in {named:?}");
        }
        let f = ReferralFields {
            note: &"x".repeat(NOTE_MAX + 1),
            ..fields()
        };
        assert_eq!(ReferralInput::parse(&f).unwrap_err()[0].0, "note");
    }

    #[test]
    fn a_refusal_needs_its_reason() {
        assert!(Answer::parse("refuser", "  ").is_err());
        assert_eq!(
            Answer::parse("refuser", "Plus de place avant mars").unwrap(),
            Answer::Refuse {
                reason: "Plus de place avant mars".into()
            }
        );
        assert_eq!(
            Answer::parse("accepter", "").unwrap().status(),
            Status::Accepted
        );
        assert!(Answer::parse("peut-etre", "").is_err());
    }

    #[test]
    fn entries_are_checked_for_their_shape() {
        assert_eq!(
            parse_entry("etablissement:620000029"),
            Some((EntryKind::Establishment, "620000029".into()))
        );
        assert_eq!(
            parse_entry("professionnel:810100000001"),
            Some((EntryKind::Professional, "810100000001".into()))
        );
        assert_eq!(
            parse_entry("service:4"),
            Some((EntryKind::Service, "4".into()))
        );
        assert_eq!(parse_entry("service:-4"), None);
        assert_eq!(parse_entry("etablissement:62'; --"), None);
        assert_eq!(parse_entry("inconnu:1"), None);
        assert_eq!(parse_entry(""), None);
    }

    #[test]
    fn the_share_accepted_counts_answers_and_expiries() {
        assert_eq!(accepted_share(&[3, 0, 0, 0, 2]), "—");
        // 2 accepted, 1 refused, 1 expired (the waiting and cancelled aside).
        assert_eq!(accepted_share(&[5, 2, 1, 1, 4]), "50 %");
        assert_eq!(accepted_share(&[0, 2, 1, 0, 0]), "67 %");
    }

    #[test]
    fn settings_keep_the_reminder_before_the_expiry() {
        assert_eq!(parse_settings("21", "5"), Ok((21, 5)));
        assert!(parse_settings("5", "5").is_err());
        assert!(parse_settings("1", "1").is_err());
        assert!(parse_settings("abc", "3").is_err());
    }

    #[test]
    fn reminders_fall_on_working_days_before_the_expiry() {
        // Friday 18 December 2026, 15:00 Paris.
        let sent = chrono_tz::Europe::Paris
            .with_ymd_and_hms(2026, 12, 18, 15, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let expires = sent + Duration::days(21);
        let times = reminder_times(sent, 5, expires);
        assert_eq!(times.len(), 2);
        for t in &times {
            let local = t.with_timezone(&chrono_tz::Europe::Paris);
            assert!(
                !matches!(local.format("%u").to_string().as_str(), "6" | "7"),
                "{local}"
            );
            assert!(
                crate::domain::agenda::holidays::holiday_name(local.date_naive()).is_none(),
                "{local}"
            );
        }
        // The first one is due five days later (Thursday 24 at 10:00, as
        // Wednesday 23 at 10:00 is before the delay); the second after
        // Christmas and the week-end (Monday 28 is five days after 23,
        // the 29th at 10:00 the first working time after the delay).
        assert!(times[0] >= sent + Duration::days(5));
        assert!(times[1] >= sent + Duration::days(10));
        // None after the expiry.
        assert!(reminder_times(sent, 5, sent + Duration::days(6)).len() == 1);
        assert!(reminder_times(sent, 5, sent + Duration::days(3)).is_empty());
    }

    #[test]
    fn texts_say_place_outcome_and_reason() {
        let c = texts::Context {
            territory: "CLS de Lens - Liévin",
            service: "Centre de santé",
            theme: Theme::FindGp,
            link: "https://exemple.fr/t/lens/orientation/abc",
            expires: "lundi 4 janvier 2027",
        };
        let (subject, body) = texts::to_service(&c, "Appelle le matin.", false);
        assert!(subject.contains("orientée"));
        assert!(body.contains("https://exemple.fr/t/lens/orientation/abc"));
        assert!(body.contains("Appelle le matin."));
        assert!(body.contains("lundi 4 janvier 2027"));
        let refused = texts::to_person_outcome(&c, Status::Refused, "complet", "");
        assert!(refused.contains("complet"));
        let accepted = texts::to_person_outcome(&c, Status::Accepted, "", "03 21 00 00 00");
        assert!(accepted.contains("03 21 00 00 00"));
        let (parts, _) = crate::domain::messages::sms_parts(&texts::to_person_sent(&c));
        assert!(parts <= 2);
    }
}
