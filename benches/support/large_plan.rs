//! The large plan of the plan and report benchmarks: 5 axes, 60 actions
//! (each with a fiche, two budget lines), 200 indicators with 20
//! measurements each, in the test app's territory « lens-lievin ».

use crate::common::TestApp;
use maillage::domain::budget::BudgetLineRaw;
use maillage::domain::contract::{ActionInput, ContractRaw, FicheRaw};
use maillage::domain::indicator::{IndicatorRaw, MeasurementRaw};
use maillage::storage::audit::Actor;
use maillage::storage::{actions, contract, indicators, territories};

/// Load the plan; its contract's id.
pub async fn large_plan(app: &TestApp) -> i64 {
    let db = &app.db;
    let actor = Actor::system("bench");
    let tid = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let c = contract::create(
        db,
        &actor,
        tid,
        &ContractRaw {
            kind: "cls".into(),
            title: "Grand contrat".into(),
            status: "in_force".into(),
            signatories: "ARS Hauts-de-France".into(),
            period_start: "01/01/2025".into(),
            period_end: "31/12/2027".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let mut action_ids = Vec::new();
    for ax in 0..5 {
        let axis = contract::add_axis(db, &actor, &c, &format!("Axe stratégique {}", ax + 1))
            .await
            .unwrap();
        for ob in 0..3 {
            let o = contract::add_objective(
                db,
                &actor,
                &c,
                axis.id,
                &format!("Objectif opérationnel {}", ob + 1),
            )
            .await
            .unwrap();
            for x in 0..4 {
                let lead = format!("Structure pilote {}", (ax * 12 + ob * 4 + x) % 15);
                let a = contract::add_action(
                    db,
                    &actor,
                    &c,
                    o.id,
                    &ActionInput::parse(&format!("Action {}", x + 1), "", "planned", &lead)
                        .unwrap(),
                )
                .await
                .unwrap();
                let f = FicheRaw {
                    title: format!("Action n° {} de l'objectif {}", x + 1, o.code),
                    findings: "Constat du diagnostic local de santé. ".repeat(8),
                    description: "Description de l'action, de ses étapes et de ses moyens. ".repeat(10),
                    status: ["planned", "in_progress", "done"][x % 3].into(),
                    progress: ((x * 30) % 101).to_string(),
                    period_start: "01/01/2025".into(),
                    period_end: "31/12/2027".into(),
                    lead_org_id: a.lead_org_id.unwrap().to_string(),
                    themes: vec!["acces_soins".into(), "prevention".into()],
                    scope: vec!["commune:62498".into()],
                    steps: "15/01/2025 Lancement\n30/06/2026 Bilan intermédiaire\n31/12/2027 Évaluation".into(),
                    ..Default::default()
                };
                actions::save_fiche(db, &actor, &c, a.id, a.version, &f.parse().unwrap())
                    .await
                    .unwrap();
                for year in ["2025", "2026"] {
                    let b = BudgetLineRaw {
                        funder: "ARS Hauts-de-France".into(),
                        year: year.into(),
                        amount: "12 500".into(),
                        ..Default::default()
                    };
                    actions::add_budget_line(db, &actor, &c, a.id, &b.parse().unwrap())
                        .await
                        .unwrap();
                }
                action_ids.push(a.id);
            }
        }
    }
    for i in 0..200 {
        let ind = indicators::create(
            db,
            &actor,
            &c,
            Some(action_ids[i % action_ids.len()]),
            &IndicatorRaw {
                kind: "result".into(),
                label: format!("Indicateur {}", i + 1),
                unit: "personnes".into(),
                baseline: "0".into(),
                target: "200".into(),
                target_on: "31/12/2027".into(),
                ..Default::default()
            }
            .parse()
            .unwrap(),
        )
        .await
        .unwrap();
        for m in 0..20u32 {
            let date = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
                + chrono::Days::new(u64::from(m) * 30);
            let raw = MeasurementRaw {
                measured_on: date.format("%Y-%m-%d").to_string(),
                value: (m * 9 + i as u32 % 7).to_string(),
                ..Default::default()
            };
            indicators::add_measurement(db, &actor, &c, &ind, &raw.parse().unwrap())
                .await
                .unwrap();
        }
    }
    c.id
}
