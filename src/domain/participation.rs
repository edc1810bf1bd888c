//! Participation and governance: bodies and their members, join requests,
//! meetings, questionnaires (questions, conditions, answer validation,
//! results), the idea box and the contact form. Parsed here, no I/O.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::codes::Email;
use super::text::bounded;

mod questionnaire;
pub use questionnaire::*;

/// Errors of a form, by field name (French messages).
pub type FieldErrors = Vec<(&'static str, String)>;

fn push_err(
    errors: &mut FieldErrors,
    field: &'static str,
    r: Result<String, super::Invalid>,
) -> String {
    match r {
        Ok(s) => s,
        Err(e) => {
            errors.push((field, e.0));
            String::new()
        }
    }
}

/// Longest free text accepted in public forms (an idea, a message, a long answer).
pub const LONG_TEXT_MAX: usize = 5000;
pub const SHORT_TEXT_MAX: usize = 300;

// ---------------------------------------------------------------- bodies

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    SteeringCommittee,
    TechnicalCommittee,
    WorkingGroup,
}

impl BodyKind {
    pub const ALL: [BodyKind; 3] = [
        BodyKind::SteeringCommittee,
        BodyKind::TechnicalCommittee,
        BodyKind::WorkingGroup,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::SteeringCommittee => "steering_committee",
            BodyKind::TechnicalCommittee => "technical_committee",
            BodyKind::WorkingGroup => "working_group",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            BodyKind::SteeringCommittee => "Comité de pilotage",
            BodyKind::TechnicalCommittee => "Comité technique",
            BodyKind::WorkingGroup => "Groupe de travail",
        }
    }
    pub fn parse(s: &str) -> Option<BodyKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

pub fn body_kind_label(s: &str) -> &'static str {
    BodyKind::parse(s).map(|k| k.label()).unwrap_or("")
}

/// A body as typed in the back office, parsed.
#[derive(Debug, Clone)]
pub struct BodyInput {
    pub kind: BodyKind,
    pub name: String,
    pub theme: String,
    pub purpose: String,
    pub capacity: Option<i64>,
    pub open: bool,
}

impl BodyInput {
    pub fn parse(
        kind: &str,
        name: &str,
        theme: &str,
        purpose: &str,
        capacity: &str,
        open: bool,
    ) -> Result<BodyInput, FieldErrors> {
        let mut e = Vec::new();
        let kind_v = BodyKind::parse(kind);
        if kind_v.is_none() {
            e.push(("kind", "Choisissez le type d’instance.".to_owned()));
        }
        let name = push_err(&mut e, "name", bounded(name, "Nom", true, 150));
        let theme = push_err(&mut e, "theme", bounded(theme, "Thème", false, 150));
        let purpose = push_err(
            &mut e,
            "purpose",
            bounded(purpose, "Objet", false, LONG_TEXT_MAX),
        );
        let capacity = match capacity.trim() {
            "" => None,
            c => match c.parse::<i64>() {
                Ok(n) if (1..=500).contains(&n) => Some(n),
                _ => {
                    e.push((
                        "capacity",
                        "Nombre de places : un nombre entier entre 1 et 500, ou vide.".to_owned(),
                    ));
                    None
                }
            },
        };
        match kind_v {
            Some(kind) if e.is_empty() => Ok(BodyInput {
                kind,
                name,
                theme,
                purpose,
                capacity,
                open,
            }),
            _ => Err(e),
        }
    }
}

/// A member of a body, parsed.
#[derive(Debug, Clone, Default)]
pub struct MemberInput {
    pub name: String,
    pub organisation: String,
    pub role: String,
    pub inhabitant: bool,
    pub email: Option<String>,
    pub mandate_start: Option<NaiveDate>,
    pub mandate_end: Option<NaiveDate>,
}

fn opt_date(raw: &str, field: &'static str, e: &mut FieldErrors) -> Option<NaiveDate> {
    match raw.trim() {
        "" => None,
        s => match crate::domain::dates::parse_form_date(s) {
            Some(d) => Some(d),
            None => {
                e.push((
                    field,
                    "Date illisible (format attendu : AAAA-MM-JJ, entre 1900 et 2100).".to_owned(),
                ));
                None
            }
        },
    }
}

fn opt_email(raw: &str, field: &'static str, e: &mut FieldErrors) -> Option<String> {
    match raw.trim() {
        "" => None,
        s => match Email::parse(s) {
            Ok(m) => Some(m.as_str().to_owned()),
            Err(err) => {
                e.push((field, err.0));
                None
            }
        },
    }
}

impl MemberInput {
    pub fn parse(
        name: &str,
        organisation: &str,
        role: &str,
        inhabitant: bool,
        email: &str,
        mandate_start: &str,
        mandate_end: &str,
    ) -> Result<MemberInput, FieldErrors> {
        let mut e = Vec::new();
        let name = push_err(&mut e, "name", bounded(name, "Nom", true, 150));
        let organisation = push_err(
            &mut e,
            "organisation",
            bounded(organisation, "Organisme", false, 150),
        );
        let role = push_err(&mut e, "role", bounded(role, "Rôle", false, 150));
        let email = opt_email(email, "email", &mut e);
        let mandate_start = opt_date(mandate_start, "mandate_start", &mut e);
        let mandate_end = opt_date(mandate_end, "mandate_end", &mut e);
        if let (Some(s), Some(t)) = (mandate_start, mandate_end) {
            if t < s {
                e.push((
                    "mandate_end",
                    "La fin du mandat est avant son début.".to_owned(),
                ));
            }
        }
        if e.is_empty() {
            Ok(MemberInput {
                name,
                organisation,
                role,
                inhabitant,
                email,
                mandate_start,
                mandate_end,
            })
        } else {
            Err(e)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Inhabitant,
    Professional,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Inhabitant => "inhabitant",
            Profile::Professional => "professional",
        }
    }
    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "inhabitant" => Some(Profile::Inhabitant),
            "professional" => Some(Profile::Professional),
            _ => None,
        }
    }
}

pub fn profile_label(s: &str) -> &'static str {
    match s {
        "inhabitant" => "Habitant·e",
        "professional" => "Professionnel·le",
        _ => "",
    }
}

/// « Rejoindre ce groupe », as typed by the public.
#[derive(Debug, Clone)]
pub struct JoinRequestInput {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub organisation: String,
    pub profile: Profile,
    pub message: String,
}

impl JoinRequestInput {
    pub fn parse(
        name: &str,
        email: &str,
        phone: &str,
        organisation: &str,
        profile: &str,
        message: &str,
        consent: bool,
    ) -> Result<JoinRequestInput, FieldErrors> {
        let mut e = Vec::new();
        let name = push_err(&mut e, "name", bounded(name, "Nom et prénom", true, 150));
        let email = if email.trim().is_empty() {
            e.push((
                "email",
                "Indiquez une adresse e-mail : la coordination vous répondra par ce moyen."
                    .to_owned(),
            ));
            None
        } else {
            opt_email(email, "email", &mut e)
        };
        let phone = push_err(&mut e, "phone", bounded(phone, "Téléphone", false, 30));
        let organisation = push_err(
            &mut e,
            "organisation",
            bounded(organisation, "Organisme", false, 150),
        );
        let profile_v = Profile::parse(profile);
        if profile_v.is_none() {
            e.push((
                "profile",
                "Indiquez si vous êtes habitant·e ou professionnel·le.".to_owned(),
            ));
        }
        let message = push_err(
            &mut e,
            "message",
            bounded(message, "Message", false, LONG_TEXT_MAX),
        );
        if !consent {
            e.push(("consent", "Cochez la case pour accepter que la coordination utilise ces coordonnées pour traiter votre demande.".to_owned()));
        }
        match (email, profile_v) {
            (Some(email), Some(profile)) if e.is_empty() => Ok(JoinRequestInput {
                name,
                email,
                phone,
                organisation,
                profile,
                message,
            }),
            _ => Err(e),
        }
    }
}

// ---------------------------------------------------------------- meetings

#[derive(Debug, Clone)]
pub struct MeetingInput {
    pub title: String,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub place: String,
    pub online_link: String,
    pub agenda: String,
    pub minutes: String,
    pub public: bool,
}

impl MeetingInput {
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        title: &str,
        date: &str,
        time: &str,
        place: &str,
        online_link: &str,
        agenda: &str,
        minutes: &str,
        public: bool,
    ) -> Result<MeetingInput, FieldErrors> {
        let mut e = Vec::new();
        let title = push_err(&mut e, "title", bounded(title, "Titre", true, 200));
        let d = crate::domain::dates::parse_form_date(date);
        if d.is_none() {
            e.push((
                "date",
                "Date illisible (format attendu : AAAA-MM-JJ).".to_owned(),
            ));
        }
        let t = chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M").ok();
        if t.is_none() {
            e.push((
                "time",
                "Heure illisible (format attendu : HH:MM).".to_owned(),
            ));
        }
        let place = push_err(&mut e, "place", bounded(place, "Lieu", false, 300));
        let online_link = push_err(
            &mut e,
            "online_link",
            bounded(online_link, "Lien de visioconférence", false, 500),
        );
        if !online_link.is_empty()
            && !online_link.starts_with("https://")
            && !online_link.starts_with("http://")
        {
            e.push((
                "online_link",
                "Le lien de visioconférence doit commencer par https://".to_owned(),
            ));
        }
        if place.is_empty() && online_link.is_empty() && e.is_empty() {
            e.push((
                "place",
                "Indiquez un lieu ou un lien de visioconférence.".to_owned(),
            ));
        }
        let agenda = push_err(
            &mut e,
            "agenda",
            bounded(agenda, "Ordre du jour", false, 20_000),
        );
        let minutes = push_err(
            &mut e,
            "minutes",
            bounded(minutes, "Compte rendu", false, 100_000),
        );
        let starts_at = match (d, t) {
            (Some(d), Some(t)) => paris_to_utc(d.and_time(t)),
            _ => None,
        };
        match starts_at {
            Some(starts_at) if e.is_empty() => Ok(MeetingInput {
                title,
                starts_at,
                place,
                online_link,
                agenda,
                minutes,
                public,
            }),
            _ => Err(e),
        }
    }
}

/// A wall-clock time in Europe/Paris as an instant (the earlier one in the autumn overlap).
pub fn paris_to_utc(local: chrono::NaiveDateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    chrono_tz::Europe::Paris
        .from_local_datetime(&local)
        .earliest()
        .map(|d| d.with_timezone(&chrono::Utc))
}

// ---------------------------------------------------------------- ideas and contact

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaStatus {
    Pending,
    Published,
    Merged,
    Declined,
}

impl IdeaStatus {
    pub const ALL: [IdeaStatus; 4] = [
        IdeaStatus::Pending,
        IdeaStatus::Published,
        IdeaStatus::Merged,
        IdeaStatus::Declined,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            IdeaStatus::Pending => "pending",
            IdeaStatus::Published => "published",
            IdeaStatus::Merged => "merged",
            IdeaStatus::Declined => "declined",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            IdeaStatus::Pending => "À modérer",
            IdeaStatus::Published => "Publiée",
            IdeaStatus::Merged => "Regroupée avec une autre",
            IdeaStatus::Declined => "Refusée",
        }
    }
    pub fn parse(s: &str) -> Option<IdeaStatus> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

pub fn idea_kind_label(s: &str) -> &'static str {
    match s {
        "need" => "Besoin",
        _ => "Idée",
    }
}

/// An idea or a need, as typed by the public.
#[derive(Debug, Clone)]
pub struct IdeaInput {
    pub kind: String,
    pub text: String,
    pub theme: String,
    pub insee_code: String,
    pub contact_name: String,
    pub contact_email: String,
    pub consent: bool,
}

impl IdeaInput {
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        kind: &str,
        text: &str,
        theme: &str,
        insee_code: &str,
        communes: &[(String, String)],
        contact_name: &str,
        contact_email: &str,
        consent: bool,
    ) -> Result<IdeaInput, FieldErrors> {
        let mut e = Vec::new();
        let kind = match kind {
            "idea" | "need" => kind.to_owned(),
            _ => {
                e.push((
                    "kind",
                    "Indiquez s’il s’agit d’une idée ou d’un besoin.".to_owned(),
                ));
                String::new()
            }
        };
        let text = push_err(
            &mut e,
            "text",
            bounded(text, "Votre idée", true, LONG_TEXT_MAX),
        );
        let theme = push_err(&mut e, "theme", bounded(theme, "Thème", false, 100));
        let insee_code = insee_code.trim().to_owned();
        if !insee_code.is_empty() && !communes.iter().any(|(c, _)| *c == insee_code) {
            e.push((
                "insee_code",
                "Choisissez une commune de la liste.".to_owned(),
            ));
        }
        let contact_name = push_err(
            &mut e,
            "contact_name",
            bounded(contact_name, "Nom", false, 150),
        );
        let contact_email = opt_email(contact_email, "contact_email", &mut e).unwrap_or_default();
        if (!contact_name.is_empty() || !contact_email.is_empty()) && !consent {
            e.push(("consent", "Vous avez laissé vos coordonnées : cochez la case pour accepter que la coordination les utilise pour vous répondre, ou effacez-les.".to_owned()));
        }
        if e.is_empty() {
            Ok(IdeaInput {
                kind,
                text,
                theme,
                insee_code,
                contact_name,
                contact_email,
                consent,
            })
        } else {
            Err(e)
        }
    }
}

#[derive(Debug, Clone)]
pub struct ContactInput {
    pub name: String,
    pub email: String,
    pub subject: String,
    pub message: String,
}

impl ContactInput {
    pub fn parse(
        name: &str,
        email: &str,
        subject: &str,
        message: &str,
        consent: bool,
    ) -> Result<ContactInput, FieldErrors> {
        let mut e = Vec::new();
        let name = push_err(&mut e, "name", bounded(name, "Nom", true, 150));
        let email = if email.trim().is_empty() {
            e.push((
                "email",
                "Indiquez une adresse e-mail pour recevoir la réponse.".to_owned(),
            ));
            String::new()
        } else {
            opt_email(email, "email", &mut e).unwrap_or_default()
        };
        let subject = push_err(&mut e, "subject", bounded(subject, "Objet", true, 200));
        let message = push_err(
            &mut e,
            "message",
            bounded(message, "Message", true, LONG_TEXT_MAX),
        );
        if !consent {
            e.push(("consent", "Cochez la case pour accepter que la coordination utilise ces coordonnées pour vous répondre.".to_owned()));
        }
        if e.is_empty() {
            Ok(ContactInput {
                name,
                email,
                subject,
                message,
            })
        } else {
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: i64, kind: &str, required: bool, options: &str, cond: Option<(i64, i64)>) -> Question {
        Question {
            id,
            consultation_id: 1,
            position: id,
            kind: kind.into(),
            label: format!("Question {id}"),
            help: String::new(),
            required,
            options: options.into(),
            scale_min: 1,
            scale_max: 5,
            cond_question_id: cond.map(|c| c.0),
            cond_option: cond.map(|c| c.1),
        }
    }

    fn raw(pairs: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            m.entry((*k).to_owned()).or_default().push((*v).to_owned());
        }
        m
    }

    #[test]
    fn conditions_hide_required_questions() {
        let qs = vec![
            q(1, "single", true, "Oui\nNon", None),
            q(2, "long_text", true, "", Some((1, 1))),
            q(3, "scale", false, "", None),
        ];
        // « Non »: question 2 hidden, not required; its answer is dropped.
        let ok = validate_answers(&qs, &raw(&[("q1", "2"), ("q2", "ignoré")]), &[]).unwrap();
        assert_eq!(ok, vec![(1, "2".to_owned())]);
        // « Oui »: question 2 shown and required.
        let err = validate_answers(&qs, &raw(&[("q1", "1")]), &[]).unwrap_err();
        assert_eq!(err[0].0, "q2");
        assert!(err[0].1.contains("une réponse est demandée"));
        // Bad scale value, unknown choice.
        assert!(validate_answers(&qs, &raw(&[("q1", "2"), ("q3", "9")]), &[]).is_err());
        assert!(validate_answers(&qs, &raw(&[("q1", "7")]), &[]).is_err());
    }

    #[test]
    fn multiple_choice_and_results() {
        let qs = vec![q(1, "multiple", false, "A\nB\nC", None)];
        let ok =
            validate_answers(&qs, &raw(&[("q1", "3"), ("q1", "1"), ("q1", "1")]), &[]).unwrap();
        assert_eq!(ok, vec![(1, "1".to_owned()), (1, "3".to_owned())]);
        let counts = vec![(1, "1".to_owned(), 3), (1, "3".to_owned(), 1)];
        let resp: HashMap<i64, i64> = [(1, 4)].into_iter().collect();
        let r = compute_results(&qs, &counts, &resp, &[]);
        assert_eq!(r[0].choices.len(), 3);
        assert_eq!(r[0].choices[0].percent, 75.0);
        assert_eq!(r[0].choices[1].count, 0);
        assert_eq!(r[0].choices[2].percent, 25.0);
    }

    #[test]
    fn svg_escapes_labels() {
        let qs = vec![q(
            1,
            "single",
            false,
            "<script>alert(1)</script>\nNon",
            None,
        )];
        let r = compute_results(
            &qs,
            &[(1, "1".into(), 1)],
            &[(1, 1)].into_iter().collect(),
            &[],
        );
        let svg = bar_chart_svg(&r[0]);
        assert!(svg.contains("role=\"img\"") && svg.contains("<title"));
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn structural_changes() {
        let old = q(1, "single", false, "Oui\nNon", None);
        let mut new = QuestionInput::parse(
            "single",
            "Nouveau libellé",
            "",
            false,
            "Oui !\nNon !",
            "",
            "",
            "",
            &[],
        )
        .unwrap();
        assert!(!new.structural_change(&old), "wording only");
        new.options.push("Peut-être".into());
        assert!(new.structural_change(&old));
    }

    #[test]
    fn ideas_bounded_and_consent() {
        let long = "a".repeat(100_000);
        let e = IdeaInput::parse("idea", &long, "", "", &[], "", "", false).unwrap_err();
        assert!(e[0].1.contains("100000 caractères"));
        let e = IdeaInput::parse("idea", "Un banc", "", "", &[], "Léa", "", false).unwrap_err();
        assert_eq!(e[0].0, "consent");
        assert!(IdeaInput::parse("need", "Un banc", "", "", &[], "", "", false).is_ok());
    }
}
