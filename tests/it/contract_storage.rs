//! Contract storage on SQLite and PostgreSQL: a contract with its plan
//! (automatic codes 1, 1.1, 1.1.1), stale versions refused, audit entries.

use crate::common;

use chrono::NaiveDate;
use common::{fresh_db, Backend};
use maillage::domain::codes::Slug;
use maillage::domain::contract::{ActionInput, ContractRaw};
use maillage::domain::territory::{NewTerritory, TerritoryKind};
use maillage::storage::audit::{self, Actor};
use maillage::storage::{contract, territories, DbError};

fn actor() -> Actor {
    Actor::system("test")
}

fn raw() -> ContractRaw {
    ContractRaw {
        kind: "cls".into(),
        title: "CLS de Lens-Liévin 2024-2028".into(),
        status: "signed".into(),
        signed_on: "2024-03-12".into(),
        period_start: "2024-01-01".into(),
        period_end: "2028-12-31".into(),
        summary: "Trois axes.".into(),
        signatories: "ARS Hauts-de-France\nCommunauté d'agglomération de Lens-Liévin".into(),
    }
}

fn action(title: &str) -> ActionInput {
    ActionInput::parse(title, "", "planned", "CCAS de Lens").unwrap()
}

async fn contract_plan(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let tid = territories::create(
        db,
        &actor(),
        &NewTerritory {
            slug: Slug::parse("lens-lievin").unwrap(),
            name: "Lens-Liévin".into(),
            kind: TerritoryKind::Epci,
        },
    )
    .await
    .unwrap()
    .id;

    let c = contract::create(db, &actor(), tid, &raw().parse().unwrap())
        .await
        .unwrap();
    assert_eq!(c.version, 1);
    assert_eq!(c.period_end.as_deref(), Some("2028-12-31"));
    assert_eq!(c.signatory_list().len(), 2);
    assert_eq!(contract::list(db, tid).await.unwrap().len(), 1);
    assert!(contract::get(db, tid + 1, c.id).await.unwrap().is_none());

    let a1 = contract::add_axis(db, &actor(), &c, "Accès aux soins")
        .await
        .unwrap();
    let a2 = contract::add_axis(db, &actor(), &c, "Santé mentale")
        .await
        .unwrap();
    assert_eq!((a1.code.as_str(), a2.code.as_str()), ("1", "2"));
    let o21 = contract::add_objective(db, &actor(), &c, a2.id, "Repérer")
        .await
        .unwrap();
    let o11 = contract::add_objective(db, &actor(), &c, a1.id, "Attirer des médecins")
        .await
        .unwrap();
    let o12 = contract::add_objective(db, &actor(), &c, a1.id, "Aller vers")
        .await
        .unwrap();
    assert_eq!(
        (o11.code.as_str(), o12.code.as_str(), o21.code.as_str()),
        ("1.1", "1.2", "2.1")
    );
    let x1 = contract::add_action(db, &actor(), &c, o12.id, &action("Bus santé"))
        .await
        .unwrap();
    let x2 = contract::add_action(db, &actor(), &c, o12.id, &action("Médiateurs"))
        .await
        .unwrap();
    assert_eq!((x1.code.as_str(), x2.code.as_str()), ("1.2.1", "1.2.2"));
    assert_eq!(x1.status, "planned");

    // An axis of another contract is refused.
    let other = contract::create(db, &actor(), tid, &raw().parse().unwrap())
        .await
        .unwrap();
    assert!(matches!(
        contract::add_objective(db, &actor(), &other, a1.id, "Hors contrat").await,
        Err(DbError::NotFound)
    ));

    let plan = contract::plan(db, c.id).await.unwrap();
    assert_eq!(plan.axes.len(), 2);
    let codes: Vec<_> = plan.objectives.iter().map(|o| o.code.as_str()).collect();
    assert_eq!(codes, ["1.1", "1.2", "2.1"]);
    assert_eq!(plan.actions.len(), 2);

    // Public look-up by code: the most recent contract holding the code.
    let (found_c, found_a) = contract::action_by_code(db, tid, "1.2.2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found_c.id, found_a.id), (c.id, x2.id));
    assert!(contract::action_by_code(db, tid, "9.9.9")
        .await
        .unwrap()
        .is_none());

    // Stale versions are refused, nothing is written.
    let mut edited = raw();
    edited.status = "in_force".into();
    let input = edited.parse().unwrap();
    let c2 = contract::update(db, &actor(), tid, c.id, 1, &input)
        .await
        .unwrap();
    assert_eq!((c2.version, c2.status.as_str()), (2, "in_force"));
    assert!(matches!(
        contract::update(db, &actor(), tid, c.id, 1, &input).await,
        Err(DbError::Stale)
    ));
    let done = ActionInput::parse("Bus santé", "Tournée hebdomadaire", "done", "CCAS").unwrap();
    let x1b = contract::update_action(db, &actor(), &c2, x1.id, 1, &done)
        .await
        .unwrap();
    assert_eq!((x1b.version, x1b.status.as_str()), (2, "done"));
    assert!(matches!(
        contract::update_action(db, &actor(), &c2, x1.id, 1, &done).await,
        Err(DbError::Stale)
    ));

    contract::add_milestone(
        db,
        &actor(),
        &c2,
        NaiveDate::from_ymd_opt(2024, 3, 12).unwrap(),
        "Signature",
    )
    .await
    .unwrap();
    assert_eq!(
        contract::milestones(db, c.id).await.unwrap()[0].happened_on,
        "2024-03-12"
    );

    // Audit entries, written with each change.
    let entries = audit::for_entity(db, "contract", &c.id.to_string(), 50)
        .await
        .unwrap();
    let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
    for a in ["create", "update", "axis", "objective", "milestone"] {
        assert!(actions.contains(&a), "{a} missing in {actions:?}");
    }
    assert_eq!(actions.iter().filter(|a| **a == "update").count(), 1);
    let on_action = audit::for_entity(db, "action", &x1.id.to_string(), 10)
        .await
        .unwrap();
    assert_eq!(on_action.len(), 2);

    tdb.cleanup().await;
}
both!(contract_plan);
