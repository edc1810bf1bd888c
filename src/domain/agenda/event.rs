//! Events (workshops, forums, …), their sessions and registrations: the
//! vocabularies and the checks made before anything is stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::Invalid;

macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $code:literal / $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            /// French label for pages and forms.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

vocabulary!(
    /// What kind of event.
    EventKind {
        Workshop = "workshop" / "Atelier",
        Forum = "forum" / "Forum",
        PublicMeeting = "public_meeting" / "Réunion publique",
        Training = "training" / "Formation",
        ProfessionalsDay = "professionals_day" / "Journée des professionnels",
    }
);

vocabulary!(
    /// Where the event stands.
    EventStatus {
        SaveTheDate = "save_the_date" / "Date à retenir",
        Confirmed = "confirmed" / "Confirmé",
        Postponed = "postponed" / "Reporté",
        Cancelled = "cancelled" / "Annulé",
    }
);

vocabulary!(
    /// Who a session is for.
    Audience {
        Public = "public" / "Tout public",
        Professionals = "professionals" / "Professionnels",
        Roles = "roles" / "Professionnels désignés",
    }
);

vocabulary!(
    /// A drop-in series: walk in or book an appointment.
    Access {
        WalkIn = "walk_in" / "Sans rendez-vous",
        Appointment = "appointment" / "Sur rendez-vous",
    }
);

vocabulary!(
    RegistrationStatus {
        Confirmed = "confirmed" / "Confirmée",
        Waiting = "waiting" / "Liste d’attente",
        Cancelled = "cancelled" / "Annulée",
    }
);

/// A session's times and capacity, checked.
pub fn check_session(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    capacity: Option<i64>,
) -> Result<(), Invalid> {
    if end <= start {
        return Err(Invalid::new("La fin doit être après le début."));
    }
    if let Some(c) = capacity {
        if c <= 0 || c > MAX_CAPACITY {
            return Err(Invalid::new(CAPACITY_MESSAGE));
        }
    }
    Ok(())
}

/// Seats a newcomer may take now, `None` when the session is unlimited.
/// Once people wait (a party that did not fit), newcomers wait too: nobody
/// jumps the queue, so no seat is open even if some are free. The event page
/// and `storage::agenda::register` both use this, so the page never promises
/// a seat the registration then refuses.
pub fn open_seats(capacity: Option<i64>, taken: i64, waiting: i64) -> Option<i64> {
    capacity.map(|c| if waiting > 0 { 0 } else { (c - taken).max(0) })
}

/// A registration as typed by the public (or by staff on the phone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRegistration {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub party_size: i64,
    pub consent: bool,
}

pub const MAX_PARTY: i64 = 10;
/// The largest number of seats a session may offer.
pub const MAX_CAPACITY: i64 = 100_000;
pub const CAPACITY_MESSAGE: &str = "La capacité doit être un nombre de places entre 1 et 100 000 (laissez vide pour ne pas limiter).";
/// Longest registrant name and phone number accepted (the form says so too).
pub const NAME_MAX: usize = 150;
pub const PHONE_MAX: usize = 30;

impl NewRegistration {
    pub fn parse(
        name: &str,
        email: &str,
        phone: &str,
        party_size: &str,
        consent: bool,
    ) -> Result<NewRegistration, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let name = name.trim();
        if name.is_empty() {
            errors.push(("name", "Indiquez un nom.".to_owned()));
        } else if let Err(e) =
            crate::domain::text::bounded(name, "Nom", true, NAME_MAX).and_then(|n| {
                if n.contains('\n') {
                    Err(Invalid::new("Nom : une seule ligne"))
                } else {
                    Ok(n)
                }
            })
        {
            errors.push(("name", e.0));
        }
        let email = email.trim();
        let email = if email.is_empty() {
            None
        } else {
            match crate::domain::codes::Email::parse(email) {
                Ok(e) => Some(e.as_str().to_owned()),
                Err(e) => {
                    errors.push(("email", e.0));
                    None
                }
            }
        };
        let phone = phone.trim();
        let phone = if phone.is_empty() {
            None
        } else {
            // Checked (French or international), kept in one readable
            // shape: `06 12 34 56 78`, `+32470123456`.
            match crate::domain::phone::parse(phone) {
                Ok(e164) if phone.chars().count() <= PHONE_MAX => {
                    // Stored in E.164; shown with `phone::display`.
                    Some(e164)
                }
                Ok(_) => {
                    errors.push(("phone", "Numéro de téléphone trop long.".to_owned()));
                    None
                }
                Err(e) => {
                    let mut msg = e.to_string();
                    if let Some(first) = msg.get(..1) {
                        msg = format!("{}{}.", first.to_uppercase(), &msg[1..]);
                    }
                    errors.push(("phone", msg));
                    None
                }
            }
        };
        if email.is_none() && phone.is_none() && !errors.iter().any(|(f, _)| *f != "name") {
            errors.push((
                "email",
                "Indiquez une adresse e-mail ou un numéro de téléphone pour vous prévenir en cas de changement.".to_owned(),
            ));
        }
        let party_size = match party_size.trim() {
            "" => 1,
            s => match s.parse::<i64>() {
                Ok(n) if (1..=MAX_PARTY).contains(&n) => n,
                _ => {
                    errors.push((
                        "party_size",
                        format!("Nombre de personnes entre 1 et {MAX_PARTY}."),
                    ));
                    1
                }
            },
        };
        if !consent {
            errors.push((
                "consent",
                "Cochez la case pour accepter que vos coordonnées servent à gérer l’inscription."
                    .to_owned(),
            ));
        }
        if errors.is_empty() {
            Ok(NewRegistration {
                name: name.to_owned(),
                email,
                phone,
                party_size,
                consent,
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn vocabularies_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(
            EventStatus::parse("save_the_date"),
            Some(EventStatus::SaveTheDate)
        );
        assert_eq!(Audience::parse("nope"), None);
    }

    #[test]
    fn no_seat_is_open_while_people_wait() {
        assert_eq!(open_seats(None, 5, 0), None);
        assert_eq!(open_seats(Some(3), 2, 0), Some(1));
        assert_eq!(open_seats(Some(3), 2, 2), Some(0));
        assert_eq!(open_seats(Some(3), 4, 0), Some(0));
    }

    #[test]
    fn sessions_and_registrations_are_checked() {
        let a = Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap();
        let b = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        assert!(check_session(a, b, Some(20)).is_ok());
        assert!(check_session(b, a, Some(20)).is_err());
        assert!(check_session(a, b, Some(0)).is_err());
        assert!(check_session(a, b, Some(-3)).is_err());
        assert!(check_session(a, b, None).is_ok());

        let r = NewRegistration::parse("Awa", "", "03 21 00 00 00", "2", true).unwrap();
        assert_eq!((r.party_size, r.email), (2, None));
        let e = NewRegistration::parse("Awa", "", "", "1", true).unwrap_err();
        assert_eq!(e[0].0, "email");
        let e = NewRegistration::parse("", "a@b", "", "0", false).unwrap_err();
        let fields: Vec<_> = e.iter().map(|(f, _)| *f).collect();
        assert!(
            fields.contains(&"name")
                && fields.contains(&"party_size")
                && fields.contains(&"consent")
        );
    }
}
