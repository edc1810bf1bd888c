//! The yearly review entry of a fiche action (« bilan annuel »): its states,
//! who may move it from which state, the years a contract allows, and the
//! texts as typed.
//!
//! The lead partner (or the coordination on its behalf) writes a draft and
//! submits it; the coordination validates it or returns it with a comment;
//! a validated entry is read-only for everyone until the coordination
//! reopens it (it is then returned, with a comment).

use chrono::{Datelike, NaiveDate};

use super::contract::{labelled_enum, ActionStatus, DESCRIPTION_MAX};
use super::{text, Invalid};

labelled_enum!(
    /// Where a review entry stands. An action with no entry yet for a year
    /// is « à rédiger » ([`state_label`]).
    ReviewState {
        Draft => "draft", "brouillon",
        Submitted => "submitted", "soumis",
        Validated => "validated", "validé",
        Returned => "returned", "renvoyé",
    }
);

/// The label of an entry's state, « à rédiger » when there is none.
pub fn state_label(state: Option<ReviewState>) -> &'static str {
    state.map(ReviewState::label).unwrap_or("à rédiger")
}

/// The CSS tag class of a state (`static/maillage.css`).
pub fn state_tag(state: Option<ReviewState>) -> &'static str {
    match state {
        None => "tag",
        Some(ReviewState::Draft) => "tag tag-info",
        Some(ReviewState::Submitted) => "tag tag-warn",
        Some(ReviewState::Validated) => "tag tag-ok",
        Some(ReviewState::Returned) => "tag tag-error",
    }
}

/// Who is acting on an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// The account of the action's lead person (a partner).
    Lead,
    /// The territory's coordination (or an instance admin).
    Coordinator,
    /// Anyone else who may read (regional staff, another partner): nothing.
    Reader,
}

/// What someone asks to do with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Save the texts, the entry stays (or becomes) a draft.
    SaveDraft,
    /// Save the texts and send them to the coordination.
    Submit,
    /// The coordination accepts a submitted entry.
    Validate,
    /// The coordination sends a submitted entry back, with a comment.
    Return,
    /// The coordination reopens a validated entry (returned, with a comment).
    Reopen,
}

impl Move {
    /// Whether the move needs the coordination's comment.
    pub fn needs_comment(self) -> bool {
        matches!(self, Move::Return | Move::Reopen)
    }
}

/// The state after `mv` by `who` from `from` (`None`: no entry yet), or
/// why it is refused, in words.
pub fn transition(
    from: Option<ReviewState>,
    who: Writer,
    mv: Move,
) -> Result<ReviewState, Invalid> {
    use ReviewState::*;
    if who == Writer::Reader {
        return Err(Invalid::new(
            "Seules la personne pilote de l'action et la coordination écrivent ce bilan.",
        ));
    }
    match mv {
        Move::SaveDraft | Move::Submit => match from {
            None | Some(Draft) | Some(Returned) => Ok(if mv == Move::Submit {
                Submitted
            } else {
                Draft
            }),
            Some(Submitted) => Err(Invalid::new(
                "Ce bilan est soumis à la coordination : il ne peut plus être modifié, sauf si elle vous le renvoie.",
            )),
            Some(Validated) => Err(Invalid::new(
                "Ce bilan est validé : il ne peut plus être modifié, sauf si la coordination le rouvre.",
            )),
        },
        Move::Validate | Move::Return | Move::Reopen if who != Writer::Coordinator => Err(
            Invalid::new("Seule la coordination valide, renvoie ou rouvre un bilan."),
        ),
        Move::Validate | Move::Return => match from {
            Some(Submitted) => Ok(if mv == Move::Validate {
                Validated
            } else {
                Returned
            }),
            Some(Validated) => Err(Invalid::new("Ce bilan est déjà validé.")),
            _ => Err(Invalid::new(
                "Ce bilan n'est pas soumis : la coordination ne peut le valider ou le renvoyer qu'une fois soumis.",
            )),
        },
        Move::Reopen => match from {
            Some(Validated) => Ok(Returned),
            _ => Err(Invalid::new("Seul un bilan validé peut être rouvert.")),
        },
    }
}

/// Whether `who` may change the texts of an entry in this state.
pub fn may_write(from: Option<ReviewState>, who: Writer) -> bool {
    transition(from, who, Move::SaveDraft).is_ok()
}

/// The years of a contract's period, first to last. `None` when the
/// contract has no complete period (no entry can be written then).
pub fn years(start: Option<NaiveDate>, end: Option<NaiveDate>) -> Option<Vec<i32>> {
    match (start, end) {
        (Some(s), Some(e)) if s <= e => Some((s.year()..=e.year()).collect()),
        _ => None,
    }
}

/// `year` as a year of the contract's period, or the message saying why not.
pub fn check_year(
    year: i32,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
) -> Result<i32, Invalid> {
    let Some(all) = years(start, end) else {
        return Err(Invalid::new(
            "Ce contrat n'a pas de période (dates de début et de fin) : la coordination doit la renseigner avant les bilans annuels.",
        ));
    };
    let (first, last) = (all[0], all[all.len() - 1]);
    if all.contains(&year) {
        Ok(year)
    } else {
        Err(Invalid::new(format!(
            "L'année {year} est hors de la période du contrat ({first} à {last}) : un bilan annuel porte sur une année du contrat."
        )))
    }
}

/// The year a review page opens on: the last finished year, kept within
/// the contract's period.
pub fn default_year(all: &[i32], today: NaiveDate) -> Option<i32> {
    let wanted = today.year() - 1;
    let first = *all.first()?;
    let last = *all.last()?;
    Some(wanted.clamp(first, last))
}

/// The entry's form as typed.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct ReviewRaw {
    /// The stored version the form was built from (0: no entry yet).
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub done: String,
    #[serde(default)]
    pub difficulties: String,
    #[serde(default)]
    pub next_year: String,
    #[serde(default)]
    pub year_end_status: String,
    /// Which button: `soumettre` submits, anything else saves a draft.
    #[serde(default)]
    pub envoi: String,
}

/// The entry's texts, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewInput {
    pub done: String,
    pub difficulties: String,
    pub next_year: String,
    pub year_end_status: ActionStatus,
    pub submit: bool,
}

impl ReviewRaw {
    pub fn is_submit(&self) -> bool {
        self.envoi == "soumettre"
    }

    /// Each field on its own; submitting also needs what was done.
    pub fn parse(&self) -> Result<ReviewInput, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let mut field = |f: &'static str, v: &str, label: &str| {
            text::bounded(v, label, false, DESCRIPTION_MAX)
                .map_err(|e| errors.push((f, e.0)))
                .unwrap_or_default()
        };
        let done = field("done", &self.done, "Ce qui a été réalisé");
        let difficulties = field(
            "difficulties",
            &self.difficulties,
            "Difficultés rencontrées",
        );
        let next_year = field("next_year", &self.next_year, "Ce qui change l'an prochain");
        let submit = self.is_submit();
        if submit && self.done.trim().is_empty() {
            errors.push((
                "done",
                "Ce qui a été réalisé : à remplir avant de soumettre le bilan à la coordination"
                    .to_owned(),
            ));
        }
        let status = ActionStatus::parse(&self.year_end_status);
        if status.is_none() {
            errors.push((
                "year_end_status",
                "Statut en fin d'année : choisissez l'état de l'action au 31 décembre".to_owned(),
            ));
        }
        match status {
            Some(year_end_status) if errors.is_empty() => Ok(ReviewInput {
                done,
                difficulties,
                next_year,
                year_end_status,
                submit,
            }),
            _ => Err(errors),
        }
    }
}

/// The coordination's comment on a decision: required to return or reopen.
pub fn parse_comment(raw: &str, mv: Move) -> Result<String, Invalid> {
    let c = text::bounded(raw, "Commentaire de la coordination", false, 2000)?;
    if mv.needs_comment() && c.is_empty() {
        return Err(Invalid::new(
            "Commentaire de la coordination : expliquez en une phrase ce qui est à reprendre",
        ));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::ReviewState::*;
    use super::*;

    const STATES: [Option<ReviewState>; 5] = [
        None,
        Some(Draft),
        Some(Submitted),
        Some(Validated),
        Some(Returned),
    ];
    const MOVES: [Move; 5] = [
        Move::SaveDraft,
        Move::Submit,
        Move::Validate,
        Move::Return,
        Move::Reopen,
    ];

    /// Every (state, who, move), against the table the coordination agreed.
    #[test]
    fn who_may_do_what_from_which_state() {
        for from in STATES {
            for who in [Writer::Lead, Writer::Coordinator, Writer::Reader] {
                for mv in MOVES {
                    let expected = match (who, mv, from) {
                        (Writer::Reader, _, _) => None,
                        (_, Move::SaveDraft, None | Some(Draft) | Some(Returned)) => Some(Draft),
                        (_, Move::Submit, None | Some(Draft) | Some(Returned)) => Some(Submitted),
                        (Writer::Coordinator, Move::Validate, Some(Submitted)) => Some(Validated),
                        (Writer::Coordinator, Move::Return, Some(Submitted)) => Some(Returned),
                        (Writer::Coordinator, Move::Reopen, Some(Validated)) => Some(Returned),
                        _ => None,
                    };
                    assert_eq!(
                        transition(from, who, mv).ok(),
                        expected,
                        "{mv:?} by {who:?} from {from:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_submitted_or_validated_entry_is_read_only_and_says_why() {
        assert!(!may_write(Some(Submitted), Writer::Lead));
        assert!(!may_write(Some(Submitted), Writer::Coordinator));
        assert!(!may_write(Some(Validated), Writer::Coordinator));
        assert!(may_write(Some(Returned), Writer::Lead));
        assert!(may_write(None, Writer::Lead));
        assert!(!may_write(None, Writer::Reader));
        let e = transition(Some(Submitted), Writer::Lead, Move::SaveDraft).unwrap_err();
        assert!(e.0.contains("sauf si elle vous le renvoie"), "{e}");
        let e = transition(Some(Submitted), Writer::Lead, Move::Validate).unwrap_err();
        assert!(e.0.contains("Seule la coordination"), "{e}");
    }

    #[test]
    fn years_of_the_contract_only() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let (s, e) = (d("2024-03-01"), d("2028-12-31"));
        assert_eq!(years(s, e), Some(vec![2024, 2025, 2026, 2027, 2028]));
        assert_eq!(check_year(2024, s, e), Ok(2024));
        let msg = check_year(2023, s, e).unwrap_err().0;
        assert!(
            msg.contains("L'année 2023 est hors de la période du contrat (2024 à 2028)"),
            "{msg}"
        );
        assert!(check_year(2029, s, e).is_err());
        assert!(check_year(2025, None, e)
            .unwrap_err()
            .0
            .contains("pas de période"));
        assert_eq!(years(e, s), None);
        let all = years(s, e).unwrap();
        assert_eq!(default_year(&all, d("2026-12-02").unwrap()), Some(2025));
        assert_eq!(default_year(&all, d("2024-02-01").unwrap()), Some(2024));
        assert_eq!(default_year(&all, d("2035-01-01").unwrap()), Some(2028));
    }

    #[test]
    fn the_form_keeps_its_rules() {
        let raw = ReviewRaw {
            year_end_status: "in_progress".into(),
            envoi: "brouillon".into(),
            ..Default::default()
        };
        let ok = raw.parse().unwrap();
        assert!(!ok.submit && ok.done.is_empty());
        // Submitting needs what was done.
        let submit = ReviewRaw {
            envoi: "soumettre".into(),
            ..raw.clone()
        };
        let errs = submit.parse().unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, "done");
        let errs = ReviewRaw {
            year_end_status: "fini".into(),
            done: "x".repeat(DESCRIPTION_MAX + 1),
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["done", "year_end_status"]);
        assert!(parse_comment("  ", Move::Return).is_err());
        assert!(parse_comment("  ", Move::Reopen).is_err());
        assert_eq!(parse_comment("", Move::Validate), Ok(String::new()));
        assert_eq!(parse_comment(" Merci ", Move::Return), Ok("Merci".into()));
    }
}
