//! The demo's history, so that computed indicators, the yearly review and
//! the evaluation have something to show on first start: steering
//! committee meetings of 2025 and 2026 with their attendance and decisions,
//! a forum held last spring with its registrations and presence, and
//! computed indicators on the mediation action and on the contract.
//!
//! Registrations are only taken for sessions to come, so the forum is
//! created ahead, filled, then dated back: demo data only.

use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Paris;

use crate::db_run;
use crate::domain::agenda::event::NewRegistration;
use crate::domain::indicator::IndicatorRaw;
use crate::domain::participation::MeetingInput;
use crate::storage::agenda::{self as store, EventInput, SessionInput};
use crate::storage::audit::Actor;
use crate::storage::participation::{self, DecisionInput};
use crate::storage::{contract, indicators, Db};

fn or_err<T>(r: Result<T, Vec<(&'static str, String)>>) -> anyhow::Result<T> {
    r.map_err(|e| anyhow::anyhow!("demo data: {e:?}"))
}

/// Load the history; `today` in Europe/Paris.
pub async fn load(db: &Db, territory_id: i64, today: NaiveDate) -> anyhow::Result<()> {
    let actor = Actor::system("maillage demo");
    let bodies = participation::list_bodies(db, territory_id).await?;
    let copil = bodies
        .iter()
        .find(|b| b.kind == "steering_committee")
        .ok_or_else(|| anyhow::anyhow!("demo: no steering committee"))?;
    let members = participation::members(db, copil.id).await?;
    let ids: Vec<i64> = members.iter().map(|m| m.id).collect();

    // Steering committees held: June and December 2025, June 2026.
    let year = today.year();
    for (i, (date, title)) in [
        (
            format!("{}-06-12", year - 1),
            "Comité de pilotage : lancement du plan d'actions",
        ),
        (
            format!("{}-12-04", year - 1),
            "Comité de pilotage : bilan de la première année",
        ),
        (format!("{year}-06-18"), "Comité de pilotage de mi-parcours"),
    ]
    .iter()
    .enumerate()
    {
        if NaiveDate::parse_from_str(date, "%Y-%m-%d").map_or(true, |d| d >= today) {
            continue;
        }
        let m = or_err(MeetingInput::parse(
            title,
            date,
            "14:30",
            "Hôtel communautaire, Lens",
            "",
            "Avancement des fiches action, budget, suites des décisions.",
            "Compte rendu diffusé aux membres.",
            false,
        ))?;
        let meeting = participation::create_meeting(db, &actor, territory_id, copil.id, &m).await?;
        // Everyone invited; one absent at the second meeting.
        let present: Vec<i64> = ids
            .iter()
            .enumerate()
            .filter(|(k, _)| !(i == 1 && *k == 2))
            .map(|(_, id)| *id)
            .collect();
        participation::set_attendance(db, &actor, territory_id, meeting.id, &ids, &present).await?;
        participation::add_decision(
            db,
            &actor,
            territory_id,
            meeting.id,
            &DecisionInput {
                text: "Le plan d'actions de l'année est validé.".into(),
                follow_up: "Diffuser le plan d'actions aux partenaires".into(),
                owner: "Coordination du CLS".into(),
                due_on: NaiveDate::parse_from_str(date, "%Y-%m-%d")
                    .ok()
                    .map(|d| d + chrono::Duration::days(30)),
                action_id: None,
            },
        )
        .await?;
    }
    let decisions = db_run!(db, pool => {
        sqlx::query(
            "UPDATE meeting_decisions SET done = TRUE WHERE meeting_id IN \
             (SELECT m.id FROM meetings m WHERE m.body_id = $1 AND m.starts_at < $2)",
        )
        .bind(copil.id)
        .bind(Utc::now() - chrono::Duration::days(120))
        .execute(pool)
        .await?
        .rows_affected()
    });
    tracing::debug!("demo: {decisions} follow-ups done");

    // A forum held last April: registered, present, then dated back.
    let forum = store::create_event(
        db,
        &actor,
        territory_id,
        &EventInput {
            title: "Forum santé du printemps".into(),
            kind: "forum".into(),
            status: "confirmed".into(),
            organiser: "Coordination du CLS".into(),
            themes: "Accès aux soins, Prévention".into(),
            description:
                "Stands des partenaires du contrat, dépistages et information sur les droits."
                    .into(),
            linked_actions: String::new(),
            programme_to_come: false,
            action_id: None,
        },
    )
    .await?;
    let ahead = Utc::now() + chrono::Duration::days(2);
    let session = store::add_session(
        db,
        &actor,
        territory_id,
        forum.id,
        &SessionInput {
            starts_at: ahead,
            ends_at: ahead + chrono::Duration::hours(4),
            place_id: None,
            capacity: Some(80),
            audience: "public".into(),
            audience_roles: String::new(),
        },
    )
    .await?;
    let mut registered = Vec::new();
    for (k, party) in [1, 2, 1, 3, 1, 2, 1, 1].iter().enumerate() {
        let (r, _) = store::register(
            db,
            session.id,
            &NewRegistration {
                name: format!("Participant {}", k + 1),
                email: None,
                phone: None,
                party_size: *party,
                consent: true,
            },
            None,
            "demo",
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo registration: {e:?}"))?;
        registered.push(r.id);
    }
    for (k, id) in registered.iter().enumerate() {
        store::mark_attendance(db, &actor, territory_id, *id, k % 4 != 3).await?;
    }
    let held = NaiveDate::from_ymd_opt(year, 4, 15).unwrap_or(today);
    let held = if held < today {
        held
    } else {
        today - chrono::Duration::days(30)
    };
    let start = Paris
        .from_local_datetime(&held.and_hms_opt(9, 30, 0).unwrap_or_default())
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(ahead);
    db_run!(db, pool => {
        sqlx::query("UPDATE event_sessions SET starts_at = $1, ends_at = $2 WHERE id = $3")
            .bind(start)
            .bind(start + chrono::Duration::hours(4))
            .bind(session.id)
            .execute(pool)
            .await?;
    });

    // Computed indicators.
    let c = contract::list(db, territory_id)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("demo: no contract"))?;
    let plan = contract::plan(db, c.id).await?;
    let mediation = plan
        .actions
        .iter()
        .find(|a| a.title.starts_with("Médiateurs"))
        .map(|a| a.id);
    let computed = [
        (
            mediation,
            "Permanences de médiation tenues",
            "dropin_sessions",
            "",
            "",
            "",
        ),
        (
            mediation,
            "Personnes reçues en permanence",
            "dropin_people",
            "",
            "300",
            "",
        ),
        (
            None,
            "Présence au comité de pilotage",
            "meeting_attendance",
            "%",
            "80",
            &*format!("body:{}", copil.id),
        ),
        (
            None,
            "Réponses aux questionnaires",
            "questionnaire_answers",
            "",
            "",
            "",
        ),
        (
            None,
            "Personnes présentes aux événements",
            "people_present",
            "",
            "",
            "",
        ),
    ];
    for (action, label, source, unit, target, source_ref) in computed {
        let raw = IndicatorRaw {
            kind: "process".into(),
            label: label.into(),
            unit: unit.into(),
            target: target.into(),
            source: source.into(),
            source_ref: source_ref.into(),
            ..Default::default()
        };
        indicators::create(db, &actor, &c, action, &or_err(raw.parse())?).await?;
    }
    Ok(())
}
