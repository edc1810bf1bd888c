//! Participation storage on SQLite and PostgreSQL: bodies and members, join
//! requests (closed, full, accepted, declined, deleted), meetings with
//! attendance and decisions linked to a fiche action, questionnaires
//! (structure locked once answered, duplicate submissions, single-use panel
//! tokens, grouped results), ideas (moderation, stale version) and contact
//! messages.

use crate::common;

use common::{fresh_db, Backend};
use maillage::domain::codes::Slug;
use maillage::domain::participation::{
    compute_results, BodyInput, ContactInput, IdeaInput, IdeaStatus, JoinRequestInput,
    MeetingInput, MemberInput, QuestionInput,
};
use maillage::domain::territory::{NewTerritory, TerritoryKind};
use maillage::storage::audit::{self, Actor};
use maillage::storage::participation::{
    self as store, ConsultationInput, DecisionInput, JoinError, Moderation, QuestionError,
    SubmitError,
};
use maillage::storage::{territories, Db, DbError};

fn actor() -> Actor {
    Actor::system("test")
}

async fn territory(db: &Db, slug: &str) -> i64 {
    territories::create(
        db,
        &actor(),
        &NewTerritory {
            slug: Slug::parse(slug).unwrap(),
            name: slug.to_owned(),
            kind: TerritoryKind::Epci,
        },
    )
    .await
    .unwrap()
    .id
}

fn group(capacity: &str, open: bool) -> BodyInput {
    BodyInput::parse(
        "working_group",
        "Santé mentale",
        "Santé mentale",
        "Repérer les besoins et proposer des actions.",
        capacity,
        open,
    )
    .unwrap()
}

fn request(name: &str) -> JoinRequestInput {
    JoinRequestInput::parse(
        name,
        &format!("{}@exemple.test", name.to_lowercase()),
        "",
        "",
        "inhabitant",
        "Je veux aider.",
        true,
    )
    .unwrap()
}

async fn bodies_members_and_join_requests(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let tid = territory(db, "lens-lievin").await;
    let other = territory(db, "mond-arverne").await;
    let b = store::create_body(db, &actor(), tid, &group("2", true))
        .await
        .unwrap();
    assert_eq!((b.member_count, b.capacity, b.open), (0, Some(2), true));
    assert!(b.joinable());
    // Another territory does not see it.
    assert!(matches!(
        store::get_body(db, other, b.id).await,
        Err(DbError::NotFound)
    ));

    // A stale edit is refused.
    let b2 = store::update_body(db, &actor(), tid, b.id, b.version, &group("3", true))
        .await
        .unwrap();
    assert_eq!(b2.capacity, Some(3));
    assert!(matches!(
        store::update_body(db, &actor(), tid, b.id, b.version, &group("4", true)).await,
        Err(DbError::Stale)
    ));

    // Members, one with an ended mandate.
    let m = MemberInput::parse(
        "Jeanne Martin",
        "CCAS de Lens",
        "Référente",
        false,
        "",
        "2024-01-01",
        "",
    )
    .unwrap();
    let member = store::add_member(db, &actor(), tid, b.id, &m, None)
        .await
        .unwrap();
    let old =
        MemberInput::parse("Paul Ancien", "", "", true, "", "2020-01-01", "2021-12-31").unwrap();
    store::add_member(db, &actor(), tid, b.id, &old, None)
        .await
        .unwrap();
    assert_eq!(
        store::get_body(db, tid, b.id).await.unwrap().member_count,
        1
    );

    // Requests: two accepted fill the three seats.
    let r1 = store::create_join_request(db, tid, b.id, &request("Alice"))
        .await
        .unwrap();
    let r2 = store::create_join_request(db, tid, b.id, &request("Bruno"))
        .await
        .unwrap();
    let r3 = store::create_join_request(db, tid, b.id, &request("Chloé"))
        .await
        .unwrap();
    assert_eq!(store::join_requests(db, tid, true).await.unwrap().len(), 3);
    let a = store::decide_join_request(db, &actor(), tid, r1.id, true, "")
        .await
        .unwrap();
    assert_eq!(a.status, "accepted");
    store::decide_join_request(db, &actor(), tid, r2.id, true, "")
        .await
        .unwrap();
    let full = store::get_body(db, tid, b.id).await.unwrap();
    assert_eq!(full.member_count, 3);
    assert!(full.full() && !full.joinable());
    // The third cannot be accepted any more, and nobody new may ask.
    assert!(matches!(
        store::decide_join_request(db, &actor(), tid, r3.id, true, "").await,
        Err(JoinError::Full)
    ));
    assert_eq!(
        store::get_join_request(db, tid, r3.id)
            .await
            .unwrap()
            .status,
        "pending",
        "the refused acceptance rolled back"
    );
    assert!(matches!(
        store::create_join_request(db, tid, b.id, &request("Denis")).await,
        Err(JoinError::Full)
    ));
    let d = store::decide_join_request(db, &actor(), tid, r3.id, false, "Groupe complet")
        .await
        .unwrap();
    assert_eq!(
        (d.status.as_str(), d.reason.as_str()),
        ("declined", "Groupe complet")
    );
    assert!(matches!(
        store::decide_join_request(db, &actor(), tid, r3.id, true, "").await,
        Err(JoinError::AlreadyDecided)
    ));
    // A closed group refuses requests.
    let closed = store::create_body(db, &actor(), tid, &group("", false))
        .await
        .unwrap();
    assert!(matches!(
        store::create_join_request(db, tid, closed.id, &request("Eve")).await,
        Err(JoinError::Closed)
    ));
    // RGPD: the coordinator deletes a request; another territory cannot.
    assert!(matches!(
        store::delete_join_request(db, &actor(), other, r3.id).await,
        Err(DbError::NotFound)
    ));
    store::delete_join_request(db, &actor(), tid, r3.id)
        .await
        .unwrap();
    assert!(store::get_join_request(db, tid, r3.id).await.is_err());
    // Ending a mandate frees a seat.
    store::end_mandate(db, &actor(), tid, member.id)
        .await
        .unwrap();
    // Ended today: still counted today, gone tomorrow (mandate_end is inclusive).
    assert!(store::members(db, b.id)
        .await
        .unwrap()
        .iter()
        .any(|m| m.id == member.id && m.mandate_end.is_some()));
    // Audit entries were written.
    let log = audit::for_territory(db, tid, 100).await.unwrap();
    assert!(log
        .iter()
        .any(|e| e.entity == "join_request" && e.action == "accept"));
    assert!(log
        .iter()
        .any(|e| e.entity == "body" && e.action == "update"));
    tdb.cleanup().await;
}
both!(bodies_members_and_join_requests);

async fn meetings_decisions_and_member_space(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let tid = territory(db, "lens-lievin").await;
    let user = maillage::accounts::create_user(
        db,
        &actor(),
        "membre@exemple.test",
        "Membre",
        "une phrase de passe solide",
        maillage::domain::roles::InstanceRole::None,
    )
    .await
    .unwrap();
    let b = store::create_body(db, &actor(), tid, &group("", true))
        .await
        .unwrap();
    let m = MemberInput::parse("Léa Membre", "", "", true, "", "", "").unwrap();
    let member = store::add_member(db, &actor(), tid, b.id, &m, Some(user.id))
        .await
        .unwrap();
    assert!(store::is_member(db, b.id, user.id).await.unwrap());
    let other_body = store::create_body(db, &actor(), tid, &group("", true))
        .await
        .unwrap();
    assert!(!store::is_member(db, other_body.id, user.id).await.unwrap());

    let input = MeetingInput::parse(
        "Première réunion",
        "2030-06-12",
        "09:30",
        "Salle du conseil",
        "",
        "Tour de table",
        "",
        true,
    )
    .unwrap();
    let meeting = store::create_meeting(db, &actor(), tid, b.id, &input)
        .await
        .unwrap();
    let att = store::attendance(db, meeting.id).await.unwrap();
    assert_eq!(att.len(), 1, "current members are invited");
    store::set_presence(db, &actor(), tid, meeting.id, &[member.id])
        .await
        .unwrap();
    assert!(store::attendance(db, meeting.id).await.unwrap()[0].present);
    // A member added later is invited by hand; presence implies invitation.
    let late = MemberInput::parse("Nouveau Venu", "", "", true, "", "", "").unwrap();
    let late = store::add_member(db, &actor(), tid, b.id, &late, None)
        .await
        .unwrap();
    store::set_attendance(db, &actor(), tid, meeting.id, &[], &[member.id, late.id])
        .await
        .unwrap();
    let att = store::attendance(db, meeting.id).await.unwrap();
    assert_eq!(att.len(), 2);
    assert!(att.iter().all(|a| a.invited && a.present));
    store::set_attendance(
        db,
        &actor(),
        tid,
        meeting.id,
        &[member.id, late.id],
        &[member.id],
    )
    .await
    .unwrap();
    let att = store::attendance(db, meeting.id).await.unwrap();
    assert_eq!(att.iter().filter(|a| a.present).count(), 1);
    // Not a member of this body: ignored.
    let stranger = store::add_member(db, &actor(), tid, other_body.id, &late_input(), None)
        .await
        .unwrap();
    store::set_attendance(db, &actor(), tid, meeting.id, &[stranger.id], &[])
        .await
        .unwrap();
    assert!(store::attendance(db, meeting.id).await.unwrap().is_empty());
    store::set_presence(db, &actor(), tid, meeting.id, &[member.id])
        .await
        .unwrap();
    let upcoming = store::upcoming_public_meetings(db, tid, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(upcoming.len(), 1);
    assert_eq!(upcoming[0].1, "Santé mentale");
    // Minutes, then a stale save.
    let mut with_minutes = input.clone();
    with_minutes.minutes = "Nous avons décidé…".into();
    let saved = store::update_meeting(
        db,
        &actor(),
        tid,
        meeting.id,
        meeting.version,
        &with_minutes,
    )
    .await
    .unwrap();
    assert_eq!(saved.minutes, "Nous avons décidé…");
    assert!(matches!(
        store::update_meeting(db, &actor(), tid, meeting.id, meeting.version, &input).await,
        Err(DbError::Stale)
    ));

    // A decision becomes a follow-up linked to fiche action 1.1.1.
    let action_id = seed_action(db, tid).await;
    assert_eq!(
        store::action_id_by_code(db, tid, "1.1.1").await.unwrap(),
        Some(action_id)
    );
    assert_eq!(
        store::action_id_by_code(db, tid, "9.9.9").await.unwrap(),
        None
    );
    store::add_decision(
        db,
        &actor(),
        tid,
        meeting.id,
        &DecisionInput {
            text: "Lancer un atelier mémoire".into(),
            follow_up: "Trouver une salle".into(),
            owner: "CCAS".into(),
            due_on: chrono::NaiveDate::from_ymd_opt(2030, 9, 1),
            action_id: Some(action_id),
        },
    )
    .await
    .unwrap();
    let ds = store::decisions(db, meeting.id).await.unwrap();
    assert_eq!(ds[0].action_code.as_deref(), Some("1.1.1"));
    assert_eq!(ds[0].due_on.as_deref(), Some("2030-09-01"));
    assert_eq!(
        store::follow_ups_for_action(db, action_id)
            .await
            .unwrap()
            .len(),
        1
    );
    store::add_document(
        db,
        &actor(),
        tid,
        b.id,
        "Charte du groupe",
        "https://exemple.test/charte.pdf",
    )
    .await
    .unwrap();
    assert_eq!(store::documents(db, b.id).await.unwrap().len(), 1);
    tdb.cleanup().await;
}
both!(meetings_decisions_and_member_space);

fn late_input() -> MemberInput {
    MemberInput::parse("Autre groupe", "", "", true, "", "", "").unwrap()
}

pub async fn seed_action(db: &Db, tid: i64) -> i64 {
    use maillage::domain::contract::{ActionInput, ContractRaw};
    use maillage::storage::contract;
    let raw = ContractRaw {
        kind: "cls".into(),
        title: "CLS 2024-2028".into(),
        status: "in_force".into(),
        signed_on: "2024-03-15".into(),
        period_start: "2024-01-01".into(),
        period_end: "2028-12-31".into(),
        summary: String::new(),
        signatories: "Agence régionale de santé Hauts-de-France\nCommunauté d'agglomération".into(),
    };
    let c = contract::create(db, &actor(), tid, &raw.parse().unwrap())
        .await
        .unwrap();
    let axis = contract::add_axis(db, &actor(), &c, "Accès aux soins")
        .await
        .unwrap();
    let objective = contract::add_objective(db, &actor(), &c, axis.id, "Aller vers")
        .await
        .unwrap();
    let action = ActionInput::parse("Médiateurs santé", "", "in_progress", "CCAS").unwrap();
    contract::add_action(db, &actor(), &c, objective.id, &action)
        .await
        .unwrap();
    store::action_id_by_code(db, tid, "1.1.1")
        .await
        .unwrap()
        .unwrap()
}

fn consultation(open_days: i64) -> ConsultationInput {
    let today = chrono::Utc::now().date_naive();
    ConsultationInput {
        title: "Votre santé au quotidien".into(),
        intro: String::new(),
        opens_on: today - chrono::Duration::days(1),
        closes_on: today + chrono::Duration::days(open_days),
        panel_only: false,
        results_published: false,
    }
}

async fn questionnaires_answers_and_results(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let tid = territory(db, "lens-lievin").await;
    let c = store::create_consultation(db, &actor(), tid, &consultation(10))
        .await
        .unwrap();
    let q1 = QuestionInput::parse(
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
    .unwrap();
    let q1_id = store::add_question(db, &actor(), tid, c.id, &q1)
        .await
        .unwrap();
    let qs = store::questions(db, c.id).await.unwrap();
    let q2 = QuestionInput::parse(
        "long_text",
        "Pourquoi ?",
        "",
        true,
        "",
        "",
        "",
        &format!("{q1_id}:2"),
        &qs,
    )
    .unwrap();
    let q2_id = store::add_question(db, &actor(), tid, c.id, &q2)
        .await
        .unwrap();
    let q3 = QuestionInput::parse(
        "multiple",
        "Quels services ?",
        "",
        false,
        "Pharmacie\nMédecin\nInfirmier",
        "",
        "",
        "",
        &qs,
    )
    .unwrap();
    let q3_id = store::add_question(db, &actor(), tid, c.id, &q3)
        .await
        .unwrap();
    let qs = store::questions(db, c.id).await.unwrap();
    assert_eq!(qs.len(), 3);
    assert_eq!(qs[1].cond_question_id, Some(q1_id));

    // Answers: a double submission is stored once.
    let a1 = vec![
        (q1_id, "2".to_owned()),
        (q2_id, "Trop loin".to_owned()),
        (q3_id, "1".to_owned()),
        (q3_id, "2".to_owned()),
    ];
    assert!(store::submit_response(db, c.id, "cle-1", None, &a1)
        .await
        .unwrap());
    assert!(!store::submit_response(db, c.id, "cle-1", None, &a1)
        .await
        .unwrap());
    let a2 = vec![(q1_id, "1".to_owned()), (q3_id, "1".to_owned())];
    assert!(store::submit_response(db, c.id, "cle-2", None, &a2)
        .await
        .unwrap());
    assert_eq!(
        store::get_consultation(db, tid, c.id)
            .await
            .unwrap()
            .response_count,
        2
    );

    // Results: grouped counts and respondents per question.
    let raw = store::raw_results(db, c.id).await.unwrap();
    assert_eq!(raw.responses, 2);
    let res = compute_results(&qs, &raw.counts, &raw.respondents, &[]);
    assert_eq!(res[0].respondents, 2);
    assert_eq!(res[0].choices[0].count, 1);
    assert_eq!(res[0].choices[0].percent, 50.0);
    assert_eq!(res[1].respondents, 1);
    assert!(
        res[1].choices.is_empty(),
        "free text is listed, not counted"
    );
    assert_eq!(res[2].choices[0].count, 2);
    assert_eq!(res[2].choices[0].percent, 100.0);
    assert_eq!(
        store::text_answers(db, c.id, 10).await.unwrap(),
        vec![(q2_id, "Trop loin".to_owned())]
    );
    assert_eq!(store::all_responses(db, c.id).await.unwrap().len(), 2);

    // Structure is locked once answered; wording may still be fixed.
    let q4 = QuestionInput::parse(
        "short_text",
        "Autre chose ?",
        "",
        false,
        "",
        "",
        "",
        "",
        &qs,
    )
    .unwrap();
    assert!(matches!(
        store::add_question(db, &actor(), tid, c.id, &q4).await,
        Err(QuestionError::HasAnswers)
    ));
    let reworded = QuestionInput::parse(
        "single",
        "Avez-vous un médecin traitant déclaré ?",
        "",
        true,
        "Oui\nNon",
        "",
        "",
        "",
        &[],
    )
    .unwrap();
    store::update_question(db, &actor(), tid, q1_id, &reworded)
        .await
        .unwrap();
    let more_choices = QuestionInput::parse(
        "single",
        "Avez-vous un médecin ?",
        "",
        true,
        "Oui\nNon\nNe sait pas",
        "",
        "",
        "",
        &[],
    )
    .unwrap();
    assert!(matches!(
        store::update_question(db, &actor(), tid, q1_id, &more_choices).await,
        Err(QuestionError::HasAnswers)
    ));
    assert!(matches!(
        store::delete_question(db, &actor(), tid, q3_id).await,
        Err(QuestionError::HasAnswers)
    ));
    assert_eq!(
        store::get_question(db, tid, q1_id).await.unwrap().label,
        "Avez-vous un médecin traitant déclaré ?"
    );

    // Panel tokens: stored hashed, single use.
    let tokens = store::create_tokens(db, &actor(), tid, c.id, 2)
        .await
        .unwrap();
    assert!(store::token_usable(db, c.id, &tokens[0]).await.unwrap());
    assert!(
        store::submit_response(db, c.id, "cle-3", Some(&tokens[0]), &a2)
            .await
            .unwrap()
    );
    assert!(!store::token_usable(db, c.id, &tokens[0]).await.unwrap());
    assert!(matches!(
        store::submit_response(db, c.id, "cle-4", Some(&tokens[0]), &a2).await,
        Err(SubmitError::BadToken)
    ));
    assert!(matches!(
        store::submit_response(db, c.id, "cle-5", Some("inventé"), &a2).await,
        Err(SubmitError::BadToken)
    ));
    assert_eq!(store::token_counts(db, c.id).await.unwrap(), (1, 1));
    assert_eq!(
        store::raw_results(db, c.id).await.unwrap().responses,
        3,
        "refused submissions stored nothing"
    );

    // Concurrent identical submissions: one response.
    let mut handles = Vec::new();
    for _ in 0..4 {
        let db = db.clone();
        let a2 = a2.clone();
        let cid = c.id;
        handles.push(tokio::spawn(async move {
            store::submit_response(&db, cid, "cle-par", None, &a2)
                .await
                .unwrap()
        }));
    }
    let mut firsts = 0;
    for h in handles {
        if h.await.unwrap() {
            firsts += 1;
        }
    }
    assert_eq!(firsts, 1);
    assert_eq!(store::raw_results(db, c.id).await.unwrap().responses, 4);
    tdb.cleanup().await;
}
both!(questionnaires_answers_and_results);

async fn ideas_and_contact_messages(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let tid = territory(db, "lens-lievin").await;
    let idea = IdeaInput::parse(
        "idea",
        "Un banc devant la pharmacie <script>alert(1)</script>",
        "Mobilité",
        "",
        &[],
        "Léa",
        "lea@exemple.test",
        true,
    )
    .unwrap();
    let id = store::create_idea(db, tid, &idea).await.unwrap();
    let id2 = store::create_idea(
        db,
        tid,
        &IdeaInput::parse("need", "Des bancs", "", "", &[], "", "", false).unwrap(),
    )
    .await
    .unwrap();
    assert!(
        store::list_ideas(db, tid, true).await.unwrap().is_empty(),
        "nothing public before moderation"
    );
    let i = store::get_idea(db, tid, id).await.unwrap();
    let action_id = seed_action(db, tid).await;
    let published = store::moderate_idea(
        db,
        &actor(),
        tid,
        id,
        i.version,
        &Moderation {
            status: IdeaStatus::Published,
            reason: String::new(),
            merged_into: None,
            answer: "Merci, c’est prévu.".into(),
            action_id: Some(action_id),
        },
    )
    .await
    .unwrap();
    assert_eq!(published.action_code.as_deref(), Some("1.1.1"));
    assert!(matches!(
        store::moderate_idea(
            db,
            &actor(),
            tid,
            id,
            i.version,
            &Moderation {
                status: IdeaStatus::Declined,
                reason: "x".into(),
                merged_into: None,
                answer: String::new(),
                action_id: None
            }
        )
        .await,
        Err(DbError::Stale)
    ));
    let i2 = store::get_idea(db, tid, id2).await.unwrap();
    store::moderate_idea(
        db,
        &actor(),
        tid,
        id2,
        i2.version,
        &Moderation {
            status: IdeaStatus::Merged,
            reason: String::new(),
            merged_into: Some(id),
            answer: String::new(),
            action_id: None,
        },
    )
    .await
    .unwrap();
    let public = store::list_ideas(db, tid, true).await.unwrap();
    assert_eq!(public.len(), 1);
    assert!(
        public[0].text.contains("<script>"),
        "stored as typed, escaped when shown"
    );
    let json = serde_json::to_string(&public[0]).unwrap();
    assert!(
        !json.contains("lea@exemple.test"),
        "contact never in the API"
    );
    // Deleting the target of a merge keeps the merged one.
    store::delete_idea(db, &actor(), tid, id).await.unwrap();
    assert_eq!(
        store::get_idea(db, tid, id2).await.unwrap().merged_into,
        None
    );

    let msg = ContactInput::parse("Léa", "lea@exemple.test", "Question", "Bonjour", true).unwrap();
    let mid = store::create_contact_message(db, tid, &msg).await.unwrap();
    assert_eq!(store::contact_messages(db, tid).await.unwrap().len(), 1);
    store::delete_contact_message(db, &actor(), tid, mid)
        .await
        .unwrap();
    assert!(store::contact_messages(db, tid).await.unwrap().is_empty());
    tdb.cleanup().await;
}
both!(ideas_and_contact_messages);
