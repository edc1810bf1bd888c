//! The full action plan on SQLite and PostgreSQL: the partner directory and
//! RGPD erasure, a whole fiche saved at once (references checked against the
//! territory, history, stale versions), budget lines, indicators, documents
//! in both stores, reordering and renumbering, filters and exports.

use crate::common;

use chrono::NaiveDate;
use common::{fresh_db, Backend};
use maillage::domain::budget::BudgetLineRaw;
use maillage::domain::codes::Slug;
use maillage::domain::contract::{ActionInput, ContractRaw, FicheRaw};
use maillage::domain::document::DocumentKind;
use maillage::domain::indicator::{IndicatorRaw, MeasurementRaw};
use maillage::domain::partners::{OrganisationRaw, PersonRaw};
use maillage::domain::territory::{NewTerritory, TerritoryKind};
use maillage::plan::{is_late, FullPlan, PlanFilter};
use maillage::storage::audit::Actor;
use maillage::storage::contract::{self, Contract, Level};
use maillage::storage::{actions, documents, indicators, partners, territories, Db, DbError};

fn actor() -> Actor {
    Actor::system("test")
}

struct World {
    tid: i64,
    other_tid: i64,
    c: Contract,
    /// Actions 1.1.1, 1.1.2, 2.1.1
    a: Vec<i64>,
}

async fn world(db: &Db, status: &str) -> World {
    maillage::demo::load_geography(db).await.unwrap();
    let mk = |slug: &'static str| NewTerritory {
        slug: Slug::parse(slug).unwrap(),
        name: slug.into(),
        kind: TerritoryKind::Epci,
    };
    let tid = territories::create(db, &actor(), &mk("lens-lievin"))
        .await
        .unwrap()
        .id;
    territories::set_communes(db, &actor(), tid, None, &["62498".into(), "62510".into()])
        .await
        .unwrap();
    let other_tid = territories::create(db, &actor(), &mk("ailleurs"))
        .await
        .unwrap()
        .id;
    let raw = ContractRaw {
        kind: "cls".into(),
        title: "CLS".into(),
        status: status.into(),
        signatories: "Agence régionale de santé Hauts-de-France".into(),
        ..Default::default()
    };
    let c = contract::create(db, &actor(), tid, &raw.parse().unwrap())
        .await
        .unwrap();
    let ax1 = contract::add_axis(db, &actor(), &c, "Accès aux soins")
        .await
        .unwrap();
    let ax2 = contract::add_axis(db, &actor(), &c, "Santé mentale")
        .await
        .unwrap();
    let o11 = contract::add_objective(db, &actor(), &c, ax1.id, "Médiation")
        .await
        .unwrap();
    let o21 = contract::add_objective(db, &actor(), &c, ax2.id, "Repérage")
        .await
        .unwrap();
    let mut a = Vec::new();
    for (o, t, lead) in [
        (o11.id, "Médiateurs santé", "CCAS de Lens"),
        (o11.id, "Bus santé", "CCAS de Lens"),
        (
            o21.id,
            "Premiers secours en santé mentale",
            "Association Espoir",
        ),
    ] {
        let x = contract::add_action(
            db,
            &actor(),
            &c,
            o,
            &ActionInput::parse(t, "", "planned", lead).unwrap(),
        )
        .await
        .unwrap();
        a.push(x.id);
    }
    World {
        tid,
        other_tid,
        c,
        a,
    }
}

/// The territory's organisations but the signatories (which join the
/// directory with the contract).
async fn local_orgs(db: &Db, tid: i64) -> Vec<partners::Organisation> {
    partners::organisations(db, tid)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.kind != "ars")
        .collect()
}

fn fiche(title: &str) -> FicheRaw {
    FicheRaw {
        title: title.into(),
        status: "in_progress".into(),
        progress: "30".into(),
        ..Default::default()
    }
}

async fn directory_and_erasure(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let w = world(db, "signed").await;
    // The lead typed by name joined the directory, once.
    let orgs = local_orgs(db, w.tid).await;
    assert_eq!(
        orgs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
        ["Association Espoir", "CCAS de Lens"]
    );
    let ars = partners::create_organisation(
        db,
        &actor(),
        w.tid,
        &OrganisationRaw {
            name: "ARS Hauts-de-France".into(),
            kind: "ars".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    // The same name twice in a territory: a conflict; in another territory: fine.
    let dup = OrganisationRaw {
        name: "ARS Hauts-de-France".into(),
        kind: "ars".into(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    assert!(matches!(
        partners::create_organisation(db, &actor(), w.tid, &dup).await,
        Err(DbError::Conflict(_))
    ));
    partners::create_organisation(db, &actor(), w.other_tid, &dup)
        .await
        .unwrap();
    // Stale organisation edit.
    partners::update_organisation(db, &actor(), w.tid, ars.id, 1, &dup)
        .await
        .unwrap();
    assert!(matches!(
        partners::update_organisation(db, &actor(), w.tid, ars.id, 1, &dup).await,
        Err(DbError::Stale)
    ));

    let person = PersonRaw {
        full_name: "Awa Diallo".into(),
        organisation_id: ars.id.to_string(),
        email: "awa@example.org".into(),
        consent_on: "02/09/2025".into(),
        public_contact: "on".into(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    let p = partners::create_person(db, &actor(), w.tid, &person)
        .await
        .unwrap();
    assert_eq!(p.consent_on.as_deref(), Some("2025-09-02"));
    // An organisation of another territory is refused.
    let mut bad = person.clone();
    bad.organisation_id = Some(partners::organisations(db, w.other_tid).await.unwrap()[0].id);
    assert!(matches!(
        partners::create_person(db, &actor(), w.tid, &bad).await,
        Err(DbError::Conflict(_))
    ));
    // An unknown account e-mail is refused.
    let mut bad = person.clone();
    bad.account_email = Some(maillage::domain::codes::Email::parse("personne@nulle.part").unwrap());
    assert!(matches!(
        partners::create_person(db, &actor(), w.tid, &bad).await,
        Err(DbError::Conflict(c)) if c == "people_account_unknown"
    ));

    // The person leads 1.1.1; the export says so.
    let mut f = fiche("Médiateurs santé");
    f.lead_person_id = p.id.to_string();
    f.lead_org_id = orgs[1].id.to_string();
    actions::save_fiche(db, &actor(), &w.c, w.a[0], 1, &f.parse().unwrap())
        .await
        .unwrap();
    let export = partners::export_person(db, w.tid, p.id).await.unwrap();
    assert_eq!(export.person.email, "awa@example.org");
    assert_eq!(export.organisation.as_deref(), Some("ARS Hauts-de-France"));
    assert_eq!(
        export.leads,
        [("1.1.1".to_owned(), "Médiateurs santé".to_owned())]
    );
    let json = serde_json::to_string(&export).unwrap();
    assert!(json.contains("awa@example.org"));
    // Another territory cannot reach it.
    assert!(partners::export_person(db, w.other_tid, p.id)
        .await
        .is_err());
    assert!(matches!(
        partners::delete_person(db, &actor(), w.other_tid, p.id).await,
        Err(DbError::NotFound)
    ));

    // Erasure: the row goes, the action keeps its lead organisation, and the
    // audit trail holds no trace of the address.
    partners::delete_person(db, &actor(), w.tid, p.id)
        .await
        .unwrap();
    assert!(partners::person(db, w.tid, p.id).await.unwrap().is_none());
    let (_, a) = actions::get(db, w.tid, w.a[0]).await.unwrap().unwrap();
    assert_eq!(a.lead_person_id, None);
    assert_eq!(a.lead_org, "CCAS de Lens");
    let trail = maillage::storage::audit::for_territory(db, w.tid, 500)
        .await
        .unwrap();
    assert!(trail
        .iter()
        .all(|e| !e.details.contains("awa@") && !e.details.contains("Awa")));
    tdb.cleanup().await;
}
both!(directory_and_erasure);

async fn whole_fiche(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let w = world(db, "signed").await;
    let orgs = local_orgs(db, w.tid).await;
    let other_org = partners::create_organisation(
        db,
        &actor(),
        w.other_tid,
        &OrganisationRaw {
            name: "Ailleurs".into(),
            kind: "other".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let good = FicheRaw {
        findings: "Renoncement aux soins élevé.".into(),
        aims: "Ramener vers le soin.".into(),
        publics: "Habitants des QPV".into(),
        period_start: "01/01/2025".into(),
        period_end: "31/12/2026".into(),
        lead_org_id: orgs[1].id.to_string(),
        partners: vec![orgs[0].id.to_string()],
        themes: vec!["acces_soins".into()],
        own_themes: "Mobilité".into(),
        scope: vec!["commune:62498".into(), "qpv:QN06202M".into()],
        links: "2.1.1".into(),
        steps: "[x] 15/01/2025 Recrutement\n30/06/2025 Premier bilan".into(),
        ..fiche("Médiateurs santé de proximité")
    };
    let saved = actions::save_fiche(db, &actor(), &w.c, w.a[0], 1, &good.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(saved.version, 2);
    assert_eq!(saved.lead_org, "CCAS de Lens");
    assert_eq!(saved.period_end.as_deref(), Some("2026-12-31"));
    let rel = actions::related(db, w.c.id).await.unwrap();
    assert_eq!(
        rel.partners_of(w.a[0]),
        [(orgs[0].id, orgs[0].name.clone())]
    );
    assert_eq!(rel.themes_of(w.a[0]), ["Mobilité", "acces_soins"]);
    assert_eq!(rel.scope_of(w.a[0]).len(), 2);
    // Links go both ways.
    assert_eq!(rel.links_of(w.a[0]), [w.a[2]]);
    assert_eq!(rel.links_of(w.a[2]), [w.a[0]]);
    assert_eq!(rel.steps_of(w.a[0]).len(), 2);
    assert!(rel.steps_of(w.a[0])[0].done);
    assert_eq!(
        actions::territory_themes(db, w.tid).await.unwrap(),
        ["Mobilité"]
    );
    // History: created « planned 0 », now « in_progress 30 ».
    let h = actions::history(db, w.a[0]).await.unwrap();
    assert_eq!(
        h.iter()
            .map(|x| (x.status.as_str(), x.progress))
            .collect::<Vec<_>>(),
        [("planned", 0), ("in_progress", 30)]
    );
    // Saving again without a status change adds no history line.
    actions::save_fiche(db, &actor(), &w.c, w.a[0], 2, &good.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(actions::history(db, w.a[0]).await.unwrap().len(), 2);
    // A stale version writes nothing.
    let mut other = good.clone();
    other.title = "Écrasé ?".into();
    assert!(matches!(
        actions::save_fiche(db, &actor(), &w.c, w.a[0], 2, &other.parse().unwrap()).await,
        Err(DbError::Stale)
    ));
    let (_, a) = actions::get(db, w.tid, w.a[0]).await.unwrap().unwrap();
    assert_eq!(a.title, "Médiateurs santé de proximité");

    // References outside the territory or the contract, each named.
    for (field, raw) in [
        (
            "partners",
            FicheRaw {
                partners: vec![other_org.id.to_string()],
                ..good.clone()
            },
        ),
        (
            "lead_org_id",
            FicheRaw {
                lead_org_id: other_org.id.to_string(),
                ..good.clone()
            },
        ),
        (
            "scope",
            FicheRaw {
                scope: vec!["commune:63113".into()],
                ..good.clone()
            },
        ),
        (
            "links:9.9.9",
            FicheRaw {
                links: "9.9.9".into(),
                ..good.clone()
            },
        ),
        (
            "links:1.1.1",
            FicheRaw {
                links: "1.1.1".into(),
                ..good.clone()
            },
        ),
        (
            "code",
            FicheRaw {
                code: "1.1.2".into(),
                ..good.clone()
            },
        ),
        (
            "code",
            FicheRaw {
                code: "2.1".into(),
                ..good.clone()
            },
        ),
    ] {
        let r = actions::save_fiche(db, &actor(), &w.c, w.a[0], 3, &raw.parse().unwrap()).await;
        assert!(
            matches!(&r, Err(DbError::Conflict(f)) if f == field),
            "{field}: {r:?}"
        );
    }
    // Nothing half-written after the refusals.
    let rel = actions::related(db, w.c.id).await.unwrap();
    assert_eq!(rel.scope_of(w.a[0]).len(), 2);
    // An explicit new code is kept.
    let renamed = FicheRaw {
        code: "1.1.9".into(),
        ..good.clone()
    };
    let a = actions::save_fiche(db, &actor(), &w.c, w.a[0], 3, &renamed.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(a.code, "1.1.9");
    tdb.cleanup().await;
}
both!(whole_fiche);

async fn budget_and_indicators(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let w = world(db, "signed").await;
    let orgs = local_orgs(db, w.tid).await;
    let line = |funder_id: String, funder: &str, year: &str, amount: &str| BudgetLineRaw {
        funder_id,
        funder: funder.into(),
        year: year.into(),
        amount: amount.into(),
        note: String::new(),
        ..Default::default()
    };
    let b1 = actions::add_budget_line(
        db,
        &actor(),
        &w.c,
        w.a[0],
        &line(orgs[1].id.to_string(), "", "2025", "12 000")
            .parse()
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(b1.funder, "CCAS de Lens");
    actions::add_budget_line(
        db,
        &actor(),
        &w.c,
        w.a[0],
        &line(String::new(), "ARS", "2026", "8 500,50")
            .parse()
            .unwrap(),
    )
    .await
    .unwrap();
    let rel = actions::related(db, w.c.id).await.unwrap();
    assert_eq!(rel.budget_total(w.a[0]), 2_050_050);
    // A funder of another territory; an action of another contract.
    let other = partners::create_organisation(
        db,
        &actor(),
        w.other_tid,
        &OrganisationRaw {
            name: "X".into(),
            kind: "other".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    assert!(matches!(
        actions::add_budget_line(
            db,
            &actor(),
            &w.c,
            w.a[0],
            &line(other.id.to_string(), "", "2025", "1").parse().unwrap()
        )
        .await,
        Err(DbError::Conflict(_))
    ));
    actions::delete_budget_line(db, &actor(), &w.c, w.a[0], b1.id)
        .await
        .unwrap();
    assert!(matches!(
        actions::delete_budget_line(db, &actor(), &w.c, w.a[0], b1.id).await,
        Err(DbError::NotFound)
    ));
    // The database itself refuses a negative amount.
    let neg = match db {
        Db::Sqlite(p) => sqlx::query("INSERT INTO budget_lines (action_id, funder, year, amount_cents) VALUES ($1, 'X', 2025, -1)").bind(w.a[0]).execute(p).await.is_err(),
        Db::Postgres(p) => sqlx::query("INSERT INTO budget_lines (action_id, funder, year, amount_cents) VALUES ($1, 'X', 2025, -1)").bind(w.a[0]).execute(p).await.is_err(),
    };
    assert!(neg);

    let ind = indicators::create(
        db,
        &actor(),
        &w.c,
        Some(w.a[0]),
        &IndicatorRaw {
            kind: "result".into(),
            label: "Personnes accompagnées".into(),
            unit: "personnes".into(),
            baseline: "0".into(),
            target: "150".into(),
            target_on: "31/12/2026".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let contract_ind = indicators::create(
        db,
        &actor(),
        &w.c,
        None,
        &IndicatorRaw {
            kind: "impact".into(),
            label: "Taux de renoncement".into(),
            unit: "%".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    // An action of another contract is refused.
    assert!(indicators::create(
        db,
        &actor(),
        &w.c,
        Some(99_999),
        &IndicatorRaw {
            kind: "process".into(),
            label: "x".into(),
            ..Default::default()
        }
        .parse()
        .unwrap()
    )
    .await
    .is_err());
    for (d, v) in [
        ("31/12/2025", "80"),
        ("30/06/2025", "35,5"),
        ("31/03/2026", "102"),
    ] {
        indicators::add_measurement(
            db,
            &actor(),
            &w.c,
            &ind,
            &MeasurementRaw {
                measured_on: d.into(),
                value: v.into(),
                ..Default::default()
            }
            .parse()
            .unwrap(),
        )
        .await
        .unwrap();
    }
    let m = indicators::add_measurement(
        db,
        &actor(),
        &w.c,
        &contract_ind,
        &MeasurementRaw {
            measured_on: "2025-01-01".into(),
            value: "12".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let latest = indicators::latest_of_contract(db, w.c.id).await.unwrap();
    assert_eq!(latest[&ind.id].value, 102.0);
    assert_eq!(latest[&contract_ind.id].value, 12.0);
    let per_action = indicators::for_action(db, w.a[0]).await.unwrap();
    assert_eq!(per_action.len(), 1);
    assert_eq!(
        per_action[0].1.iter().map(|m| m.value).collect::<Vec<_>>(),
        [35.5, 80.0, 102.0],
        "in date order"
    );
    indicators::delete_measurement(db, &actor(), &w.c, &contract_ind, m.id)
        .await
        .unwrap();
    assert!(indicators::get(db, w.other_tid, ind.id)
        .await
        .unwrap()
        .is_none());
    // Every change is in the action's audit trail.
    let trail = maillage::storage::audit::for_entity(db, "action", &w.a[0].to_string(), 50)
        .await
        .unwrap();
    assert!(trail.iter().any(|e| e.action == "budget"));
    assert!(trail
        .iter()
        .any(|e| e.action == "measurement" && e.details.contains("102")));
    tdb.cleanup().await;
}
both!(budget_and_indicators);

async fn documents_in_both_stores(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let w = world(db, "signed").await;
    let dir = tempfile::tempdir().unwrap();
    for store in [
        documents::Store::Database,
        documents::Store::Disk(dir.path().to_owned()),
    ] {
        let bytes = b"%PDF-1.4\n1 0 obj\n".to_vec();
        let d = documents::create(
            db,
            &store,
            &actor(),
            &w.c,
            Some(w.a[1]),
            "Bilan 2025",
            "bilan.pdf",
            DocumentKind::Pdf,
            true,
            bytes.clone(),
        )
        .await
        .unwrap();
        assert_eq!(d.size, bytes.len() as i64);
        assert_eq!(d.sha256.len(), 64);
        assert_eq!(documents::content(db, &store, &d).await.unwrap(), bytes);
        let on_disk = std::fs::read_dir(dir.path()).unwrap().count();
        if let documents::Store::Disk(_) = store {
            assert_eq!(on_disk, 1);
        }
        assert!(documents::get(db, w.other_tid, d.id)
            .await
            .unwrap()
            .is_none());
        // An action of another contract: refused, and no file left behind.
        let r = documents::create(
            db,
            &store,
            &actor(),
            &w.c,
            Some(99_999),
            "x",
            "x.pdf",
            DocumentKind::Pdf,
            false,
            bytes.clone(),
        )
        .await;
        assert!(r.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), on_disk);
        documents::delete(db, &store, &actor(), w.tid, d.id)
            .await
            .unwrap();
        assert!(documents::get(db, w.tid, d.id).await.unwrap().is_none());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
    tdb.cleanup().await;
}
both!(documents_in_both_stores);

async fn codes(db: &Db, c: &Contract) -> Vec<(String, String)> {
    let p = contract::plan(db, c.id).await.unwrap();
    p.actions.into_iter().map(|a| (a.code, a.title)).collect()
}

async fn reorder_and_renumber(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    // In preparation: codes follow the order.
    let w = world(db, "in_preparation").await;
    assert!(
        contract::move_item(db, &actor(), &w.c, Level::Action, w.a[1], true, true)
            .await
            .unwrap()
    );
    assert_eq!(
        codes(db, &w.c).await,
        [
            ("1.1.1".to_owned(), "Bus santé".to_owned()),
            ("1.1.2".into(), "Médiateurs santé".into()),
            ("2.1.1".into(), "Premiers secours en santé mentale".into())
        ]
    );
    // Nothing above the first one.
    assert!(
        !contract::move_item(db, &actor(), &w.c, Level::Action, w.a[1], true, true)
            .await
            .unwrap()
    );
    // Moving an axis renumbers everything under it.
    let axes = contract::plan(db, w.c.id).await.unwrap().axes;
    contract::move_item(db, &actor(), &w.c, Level::Axis, axes[1].id, true, true)
        .await
        .unwrap();
    let c = codes(db, &w.c).await;
    assert_eq!(
        c[0],
        (
            "1.1.1".to_owned(),
            "Premiers secours en santé mentale".to_owned()
        )
    );
    assert_eq!(c[2], ("2.1.2".to_owned(), "Médiateurs santé".to_owned()));
    tdb.cleanup().await;

    // Published: the order changes, the codes stay until renumbered.
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let w = world(db, "signed").await;
    contract::move_item(db, &actor(), &w.c, Level::Action, w.a[1], true, false)
        .await
        .unwrap();
    let p = contract::plan(db, w.c.id).await.unwrap();
    let bus = p.actions.iter().find(|a| a.id == w.a[1]).unwrap();
    assert_eq!((bus.code.as_str(), bus.position), ("1.1.2", 1));
    contract::renumber(db, &actor(), &w.c).await.unwrap();
    assert_eq!(
        codes(db, &w.c).await[0],
        ("1.1.1".to_owned(), "Bus santé".to_owned())
    );
    tdb.cleanup().await;
}
both!(reorder_and_renumber);

async fn filters_and_exports(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let w = world(db, "signed").await;
    let orgs = local_orgs(db, w.tid).await;
    let f1 = FicheRaw {
        themes: vec!["acces_soins".into()],
        scope: vec!["qpv:QN06202M".into()],
        period_end: "31/12/2024".into(),
        lead_org_id: orgs[1].id.to_string(),
        ..fiche("Médiateurs santé")
    };
    actions::save_fiche(db, &actor(), &w.c, w.a[0], 1, &f1.parse().unwrap())
        .await
        .unwrap();
    let f2 = FicheRaw {
        status: "done".into(),
        progress: "100".into(),
        period_end: "31/12/2024".into(),
        scope: vec!["commune:62498".into()],
        lead_org_id: orgs[1].id.to_string(),
        ..fiche("Bus santé")
    };
    actions::save_fiche(db, &actor(), &w.c, w.a[1], 1, &f2.parse().unwrap())
        .await
        .unwrap();
    actions::add_budget_line(
        db,
        &actor(),
        &w.c,
        w.a[0],
        &BudgetLineRaw {
            funder: "ARS".into(),
            year: "2025".into(),
            amount: "1000".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let ind = indicators::create(
        db,
        &actor(),
        &w.c,
        Some(w.a[0]),
        &IndicatorRaw {
            kind: "result".into(),
            label: "Personnes".into(),
            unit: "personnes".into(),
            target: "50".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    indicators::add_measurement(
        db,
        &actor(),
        &w.c,
        &ind,
        &MeasurementRaw {
            measured_on: "31/12/2025".into(),
            value: "42".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();

    let p = FullPlan::load(db, w.c.clone()).await.unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
    let codes = |f: PlanFilter| -> Vec<String> {
        p.filtered(&f, today)
            .iter()
            .map(|a| a.code.clone())
            .collect()
    };
    assert_eq!(codes(PlanFilter::default()).len(), 3);
    assert_eq!(
        codes(PlanFilter {
            status: "done".into(),
            ..Default::default()
        }),
        ["1.1.2"]
    );
    assert_eq!(
        codes(PlanFilter {
            theme: "acces_soins".into(),
            ..Default::default()
        }),
        ["1.1.1"]
    );
    assert_eq!(
        codes(PlanFilter {
            axis: p.plan.axes[1].id.to_string(),
            ..Default::default()
        }),
        ["2.1.1"]
    );
    assert_eq!(
        codes(PlanFilter {
            lead: orgs[1].id.to_string(),
            ..Default::default()
        }),
        ["1.1.1", "1.1.2"]
    );
    // Liévin: 1.1.1 through its QPV, 2.1.1 for the whole territory; not 1.1.2 (Lens only).
    assert_eq!(
        codes(PlanFilter {
            commune: "62510".into(),
            ..Default::default()
        }),
        ["1.1.1", "2.1.1"]
    );
    // Late: past its end and not done (the done one is not late).
    assert_eq!(
        codes(PlanFilter {
            late: "1".into(),
            ..Default::default()
        }),
        ["1.1.1"]
    );
    assert!(!is_late(&p.plan.actions[2], &p.related, today));

    let all = p.filtered(&PlanFilter::default(), today);
    let csv = maillage::plan::to_csv(&p, &all).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&csv[3..]);
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][2], "1.1.1");
    assert_eq!(&rows[0][8], "CCAS de Lens");
    assert_eq!(&rows[0][13], "1000,00");
    assert!(
        rows[0][15].contains("Personnes : 42 personnes (31/12/2025) ; cible 50 personnes"),
        "{}",
        &rows[0][15]
    );
    let xlsx = maillage::plan::to_xlsx(&p, &all).unwrap();
    assert_eq!(&xlsx[..2], b"PK");
    tdb.cleanup().await;
}
both!(filters_and_exports);

async fn partner_leads(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let w = world(db, "signed").await;
    let u = maillage::accounts::create_user(
        db,
        &actor(),
        "pilote@lens.test",
        "Pilote",
        "une phrase de passe solide",
        maillage::domain::roles::InstanceRole::None,
    )
    .await
    .unwrap();
    let p = partners::create_person(
        db,
        &actor(),
        w.tid,
        &PersonRaw {
            full_name: "Pilote".into(),
            account_email: "PILOTE@lens.test".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(p.user_id, Some(u.id));
    assert!(!actions::leads(db, u.id, w.a[0]).await.unwrap());
    let f = FicheRaw {
        lead_person_id: p.id.to_string(),
        ..fiche("Médiateurs santé")
    };
    actions::save_fiche(db, &actor(), &w.c, w.a[0], 1, &f.parse().unwrap())
        .await
        .unwrap();
    assert!(actions::leads(db, u.id, w.a[0]).await.unwrap());
    assert!(!actions::leads(db, u.id, w.a[1]).await.unwrap());
    assert_eq!(actions::led_by(db, w.tid, u.id).await.unwrap(), [w.a[0]]);
    tdb.cleanup().await;
}
both!(partner_leads);
