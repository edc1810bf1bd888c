//! The demo's participation data.

use super::*;

// ---------------------------------------------------------------- demo data

/// What [`seed_demo`] created, for the end-to-end test.
#[derive(Debug, Clone, Copy)]
pub struct DemoIds {
    pub group_id: i64,
    pub consultation_id: i64,
}

/// A little participation data for a demo territory: a steering committee, an
/// open working group with a public meeting, an open questionnaire (with a
/// condition and a few answers, results published) and moderated ideas.
pub async fn seed_demo(db: &Db, territory_id: i64) -> anyhow::Result<DemoIds> {
    use crate::domain::participation::{MeetingInput, QuestionInput};
    let actor = Actor::system("maillage demo");
    let copil = create_body(
        db,
        &actor,
        territory_id,
        &BodyInput::parse(
            "steering_committee",
            "Comité de pilotage du CLS",
            "",
            "Décide des orientations du contrat et valide le plan d’actions.",
            "",
            false,
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?,
    )
    .await?;
    for (name, org, role) in [
        (
            "Direction de la délégation départementale",
            "Agence régionale de santé",
            "Co-présidence",
        ),
        (
            "Vice-présidence santé",
            "Communauté d'agglomération",
            "Co-présidence",
        ),
        ("Direction", "CPAM de l'Artois", "Membre"),
    ] {
        let m = MemberInput::parse(name, org, role, false, "", "2024-01-01", "2028-12-31")
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        add_member(db, &actor, territory_id, copil.id, &m, None).await?;
    }
    let group = create_body(
        db,
        &actor,
        territory_id,
        &BodyInput::parse(
            "working_group",
            "Groupe de travail santé mentale",
            "Santé mentale",
            "Réunit professionnels, élus et habitants (8 à 15 personnes) pour repérer les besoins en santé mentale et proposer des actions communes.",
            "15",
            true,
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?,
    )
    .await?;
    for (name, org, inhabitant) in [
        ("Infirmière du CMP", "Centre médico-psychologique", false),
        ("Habitante de Liévin", "", true),
    ] {
        let m = MemberInput::parse(name, org, "Membre", inhabitant, "", "", "")
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        add_member(db, &actor, territory_id, group.id, &m, None).await?;
    }
    let next = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
        + chrono::Duration::days(21);
    let meeting = MeetingInput::parse(
        "Rencontre publique : santé mentale des jeunes",
        &fmt_date(next),
        "18:00",
        "Salle des fêtes, Liévin",
        "",
        "Présentation du diagnostic, échanges avec les habitants.",
        "",
        true,
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    create_meeting(db, &actor, territory_id, group.id, &meeting).await?;

    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let c = create_consultation(
        db,
        &actor,
        territory_id,
        &ConsultationInput {
            title: "Votre accès aux soins".into(),
            intro: "Aidez-nous à mieux connaître vos besoins : cinq minutes, anonyme, sans compte."
                .into(),
            opens_on: today - chrono::Duration::days(7),
            closes_on: today + chrono::Duration::days(60),
            panel_only: false,
            results_published: true,
        },
    )
    .await?;
    let bad = |e: Vec<(&'static str, String)>| anyhow::anyhow!("{e:?}");
    let q1 = add_question(
        db,
        &actor,
        territory_id,
        c.id,
        &QuestionInput::parse(
            "single",
            "Avez-vous un médecin traitant ?",
            "",
            true,
            "Oui\nNon",
            "",
            "",
            "",
            &[],
        )
        .map_err(bad)?,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let qs = questions(db, c.id).await?;
    let q2 = add_question(
        db,
        &actor,
        territory_id,
        c.id,
        &QuestionInput::parse(
            "long_text",
            "Qu’est-ce qui vous en empêche ?",
            "Par exemple : délais, distance, refus de nouveaux patients.",
            false,
            "",
            "",
            "",
            &format!("{q1}:2"),
            &qs,
        )
        .map_err(bad)?,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let q3 = add_question(
        db,
        &actor,
        territory_id,
        c.id,
        &QuestionInput::parse(
            "multiple",
            "Où vous soignez-vous ?",
            "Plusieurs réponses possibles.",
            false,
            "Cabinet médical\nMaison de santé\nUrgences\nPharmacie",
            "",
            "",
            "",
            &qs,
        )
        .map_err(bad)?,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let q4 = add_question(
        db,
        &actor,
        territory_id,
        c.id,
        &QuestionInput::parse(
            "scale",
            "Diriez-vous qu’il est facile de consulter près de chez vous ?",
            "",
            false,
            "",
            "1",
            "5",
            "",
            &qs,
        )
        .map_err(bad)?,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    add_question(
        db,
        &actor,
        territory_id,
        c.id,
        &QuestionInput::parse(
            "commune",
            "Votre commune de résidence",
            "",
            false,
            "",
            "",
            "",
            "",
            &qs,
        )
        .map_err(bad)?,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    for i in 0..12 {
        let mut a = vec![
            (q1, if i % 3 == 0 { "2" } else { "1" }.to_owned()),
            (q3, (1 + i % 4).to_string()),
            (q4, (1 + i % 5).to_string()),
        ];
        if i % 3 == 0 {
            a.push((
                q2,
                "Plus de médecin qui accepte de nouveaux patients".into(),
            ));
        }
        submit_response(db, c.id, &format!("demo-{i}"), None, &a)
            .await
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    }

    for (kind, text, theme, status, answer) in [
        ("idea", "Un atelier « bien dormir » pour les ados au collège.", "Jeunesse", IdeaStatus::Published, "Merci ! Le groupe de travail santé mentale étudiera cette idée à sa prochaine réunion."),
        ("need", "Il manque un kiné qui se déplace à domicile à Éleu-dit-Leauwette.", "Accès aux soins", IdeaStatus::Published, ""),
        ("idea", "Des bancs le long du chemin vers la maison de santé.", "Mobilité", IdeaStatus::Pending, ""),
    ] {
        let input = IdeaInput {
            kind: kind.into(),
            text: text.into(),
            theme: theme.into(),
            insee_code: String::new(),
            contact_name: String::new(),
            contact_email: String::new(),
            consent: false,
        };
        let id = create_idea(db, territory_id, &input).await?;
        if status != IdeaStatus::Pending {
            moderate_idea(db, &actor, territory_id, id, 1, &Moderation { status, reason: String::new(), merged_into: None, answer: answer.into(), action_id: None }).await?;
        }
    }
    Ok(DemoIds {
        group_id: group.id,
        consultation_id: c.id,
    })
}

/// The follow-ups of an action decided in public meetings (for the public
/// fiche; decisions of closed meetings stay in the back office).
pub async fn public_follow_ups_for_action(db: &Db, action_id: i64) -> DbResult<Vec<Decision>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Decision>(
        "SELECT d.id, d.meeting_id, d.text, d.follow_up, d.owner, d.due_on, d.action_id, a.code AS action_code, d.done \
         FROM meeting_decisions d JOIN meetings m ON m.id = d.meeting_id LEFT JOIN actions a ON a.id = d.action_id \
         WHERE d.action_id = $1 AND m.public = $2 ORDER BY d.id",
    )
    .bind(action_id)
    .bind(true)
    .fetch_all(pool)
    .await?))
}

/// The published ideas that led to an action.
pub async fn published_ideas_for_action(db: &Db, action_id: i64) -> DbResult<Vec<Idea>> {
    let sql = format!(
        "SELECT {IDEA_COLS} FROM ideas i LEFT JOIN actions a ON a.id = i.action_id \
         WHERE i.action_id = $1 AND i.status = 'published' ORDER BY i.created_at, i.id"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Idea>(&sql)
        .bind(action_id)
        .fetch_all(pool)
        .await?))
}

/// Mark a follow-up done or not. The decision must belong to a body of the
/// territory; returns the action it follows up.
pub async fn set_follow_up_done(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    decision_id: i64,
    done: bool,
) -> DbResult<Option<i64>> {
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row: Option<(Option<i64>,)> = sqlx::query_as(
            "UPDATE meeting_decisions SET done = $1 WHERE id = $2 AND meeting_id IN \
             (SELECT m.id FROM meetings m JOIN bodies b ON b.id = m.body_id WHERE b.territory_id = $3) \
             RETURNING action_id",
        )
        .bind(done)
        .bind(decision_id)
        .bind(territory_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((action_id,)) = row else { return Err(DbError::NotFound) };
        let what = if done { "faite" } else { "à faire" };
        match action_id {
            Some(a) => audit!(tx, actor, Some(territory_id), "action", a, "follow_up", format!("Suite n° {decision_id} : {what}"))?,
            None => audit!(tx, actor, Some(territory_id), "decision", decision_id, "follow_up", format!("Suite : {what}"))?,
        };
        tx.commit().await?;
        action_id
    }))
}

/// The action a decision of the territory follows up (`None`: no such
/// decision in the territory; `Some(None)`: a decision with no action).
pub async fn decision_action(
    db: &Db,
    territory_id: i64,
    decision_id: i64,
) -> DbResult<Option<Option<i64>>> {
    let row: Option<(Option<i64>,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT d.action_id FROM meeting_decisions d JOIN meetings m ON m.id = d.meeting_id \
         JOIN bodies b ON b.id = m.body_id WHERE d.id = $1 AND b.territory_id = $2",
    )
    .bind(decision_id)
    .bind(territory_id)
    .fetch_optional(pool)
    .await?);
    Ok(row.map(|(a,)| a))
}
