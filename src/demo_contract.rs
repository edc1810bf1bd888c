//! The demo territory's contract: the three axes the Lens-Liévin CLS
//! publishes (seed page 000), with illustrative fiches action, partners,
//! budget lines and indicators so that every page of the action plan has
//! something to show. The figures are made up and said to be.

use chrono::{Datelike, NaiveDate};

use crate::domain::budget::BudgetLineRaw;
use crate::domain::contract::{ActionInput, ContractRaw, FicheRaw};
use crate::domain::indicator::{IndicatorRaw, MeasurementRaw};
use crate::domain::partners::{OrganisationRaw, PersonRaw};
use crate::storage::audit::Actor;
use crate::storage::contract::Contract;
use crate::storage::{actions, appraisal, contract, indicators, partners, reviews, Db};

/// (label, unit, target, measurements (date, value))
type DemoIndicator = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);
/// An axis with its objectives, each with its actions.
type DemoAxis = (
    &'static str,
    &'static [(&'static str, &'static [DemoAction])],
);

struct DemoAction {
    title: &'static str,
    lead: &'static str,
    status: &'static str,
    progress: &'static str,
    findings: &'static str,
    description: &'static str,
    publics: &'static str,
    themes: &'static [&'static str],
    scope: &'static [&'static str],
    /// (funder, year, amount)
    budget: &'static [(&'static str, &'static str, &'static str)],
    indicator: Option<DemoIndicator>,
}

const AXES: &[DemoAxis] = &[
    (
        "Favoriser l'attractivité globale du territoire pour les professionnels de santé",
        &[(
            "Accueillir les internes et les jeunes médecins",
            &[DemoAction {
                title: "Accueil des internes en médecine générale",
                lead: "Communauté d'agglomération de Lens-Liévin",
                status: "in_progress",
                progress: "50",
                findings: "La densité de médecins généralistes est inférieure à la moyenne régionale.",
                description: "Logement, visite du territoire et rencontre des maisons de santé pour chaque promotion d'internes.",
                publics: "Internes et jeunes médecins",
                themes: &["acces_soins"],
                scope: &[],
                budget: &[("ARS Hauts-de-France", "2025", "15000"), ("Communauté d'agglomération de Lens-Liévin", "2025", "10000")],
                indicator: Some(("Internes accueillis", "internes", "40", &[("2024-12-31", "12"), ("2025-06-30", "19"), ("2025-12-31", "27")])),
            }],
        )],
    ),
    (
        "Améliorer l'accès à la prévention et aux soins, notamment des personnes les plus démunies",
        &[
            (
                "Aller vers les habitants éloignés du soin",
                &[
                    DemoAction {
                        title: "Médiateurs santé : permanences sans rendez-vous",
                        lead: "Communauté d'agglomération de Lens-Liévin",
                        status: "in_progress",
                        progress: "60",
                        findings: "Un habitant des quartiers prioritaires sur quatre déclare avoir renoncé à des soins.",
                        description: "Écoute, conseils, documentation et accompagnement administratif lors de permanences dans les communes de l'agglomération.",
                        publics: "Habitants des quartiers prioritaires, personnes sans complémentaire santé",
                        themes: &["acces_soins", "precarite"],
                        scope: &["qpv:QN06201M", "qpv:QN06202M"],
                        budget: &[("ARS Hauts-de-France", "2025", "42000"), ("ARS Hauts-de-France", "2026", "42000"), ("CPAM de l'Artois", "2025", "8000")],
                        indicator: Some(("Personnes accompagnées", "personnes", "600", &[("2024-12-31", "180"), ("2025-06-30", "290"), ("2025-12-31", "410")])),
                    },
                    DemoAction {
                        title: "Bus de dépistage des cancers",
                        lead: "CPAM de l'Artois",
                        status: "planned",
                        progress: "0",
                        findings: "La participation au dépistage organisé du cancer colorectal reste faible.",
                        description: "Un bus itinérant sur les marchés, avec les centres de santé.",
                        publics: "Personnes de 50 à 74 ans",
                        themes: &["cancers", "prevention"],
                        scope: &[],
                        budget: &[],
                        indicator: None,
                    },
                ],
            ),
            (
                "Prendre soin de la santé mentale",
                &[DemoAction {
                    title: "Premiers secours en santé mentale",
                    lead: "Association Espoir 62",
                    status: "in_progress",
                    progress: "30",
                    findings: "Les professionnels de première ligne se disent démunis face à la souffrance psychique.",
                    description: "Former des habitants relais et des agents d'accueil aux premiers secours en santé mentale.",
                    publics: "Agents d'accueil, bénévoles associatifs, habitants relais",
                    themes: &["sante_mentale"],
                    scope: &[],
                    budget: &[("ARS Hauts-de-France", "2025", "6000")],
                    indicator: Some(("Personnes formées", "personnes", "120", &[("2025-03-31", "14"), ("2025-09-30", "38")])),
                }],
            ),
        ],
    ),
    (
        "Promouvoir la santé des enfants et des jeunes",
        &[(
            "Agir tôt pour les enfants",
            &[DemoAction {
                title: "Ateliers nutrition et activité physique dans les écoles",
                lead: "Association Espoir 62",
                status: "done",
                progress: "100",
                findings: "Le surpoids touche plus d'un enfant sur cinq en grande section.",
                description: "Ateliers cuisine et jeux actifs avec les familles, dans les écoles des quartiers prioritaires.",
                publics: "Enfants de 3 à 11 ans et leurs parents",
                themes: &["nutrition", "enfance"],
                scope: &["commune:62498", "commune:62510"],
                budget: &[("Communauté d'agglomération de Lens-Liévin", "2024", "5000")],
                indicator: Some(("Ateliers réalisés", "ateliers", "24", &[("2024-06-30", "10"), ("2024-12-31", "24")])),
            }],
        )],
    ),
];

fn or_err<T>(r: Result<T, Vec<(&'static str, String)>>) -> anyhow::Result<T> {
    r.map_err(|e| anyhow::anyhow!("demo data: {e:?}"))
}

/// Load the demo contract; `lead_account` (the demo partner) becomes the lead
/// person of the drop-in action, so it can edit that fiche.
pub async fn load(db: &Db, territory_id: i64, lead_account: Option<&str>) -> anyhow::Result<()> {
    let actor = Actor::system("maillage demo");
    // An entry of the regional catalogue that one demo indicator follows.
    let shared = crate::storage::shared_indicators::create(
        db,
        &actor,
        &or_err(
            crate::domain::indicator::SharedIndicatorRaw {
                kind: "result".into(),
                label: "Personnes accompagnées par un médiateur santé".into(),
                unit: "personnes".into(),
                definition: "Personnes distinctes accompagnées au moins une fois par un médiateur \
ou une médiatrice santé depuis le début du contrat, comptées à la fin de chaque semestre \
(bilans d'activité des structures porteuses)."
                    .into(),
            }
            .parse(),
        )?,
    )
    .await?;
    let c = contract::create(
        db,
        &actor,
        territory_id,
        &or_err(
            ContractRaw {
                kind: "cls".into(),
                title: "Contrat local de santé de la CA de Lens-Liévin 2024-2028".into(),
                status: "in_force".into(),
                signed_on: "2024-03-12".into(),
                period_start: "2024-01-01".into(),
                period_end: "2028-12-31".into(),
                summary: "Contenu de démonstration : les trois axes sont ceux que publie l'agglomération, \
les actions, budgets et chiffres sont inventés pour montrer l'outil."
                    .into(),
                signatories: "ARS Hauts-de-France\nCommunauté d'agglomération de Lens-Liévin\n\
Préfecture du Pas-de-Calais\nCPAM de l'Artois"
                    .into(),
            }
            .parse(),
        )?,
    )
    .await?;
    for (d, label) in [
        (
            "2019-06-20",
            "Premier contrat local de santé signé (2019-2023)",
        ),
        ("2023-11-15", "Diagnostic local de santé partagé"),
        ("2024-03-12", "Signature du contrat 2024-2028"),
    ] {
        let date = NaiveDate::parse_from_str(d, "%Y-%m-%d")?;
        contract::add_milestone(db, &actor, &c, date, label).await?;
    }
    // The signatories joined the directory with the contract; give them
    // their kind.
    for (name, kind) in [
        ("ARS Hauts-de-France", "ars"),
        ("CPAM de l'Artois", "cpam"),
        ("Préfecture du Pas-de-Calais", "prefecture"),
        ("Communauté d'agglomération de Lens-Liévin", "epci"),
    ] {
        let input = or_err(
            OrganisationRaw {
                name: name.into(),
                kind: kind.into(),
                ..Default::default()
            }
            .parse(),
        )?;
        let existing = partners::organisations(db, territory_id)
            .await?
            .into_iter()
            .find(|o| o.name == name);
        match existing {
            Some(o) => {
                partners::update_organisation(db, &actor, territory_id, o.id, o.version, &input)
                    .await?;
            }
            None => {
                partners::create_organisation(db, &actor, territory_id, &input).await?;
            }
        }
    }
    let lead_person = partners::create_person(
        db,
        &actor,
        territory_id,
        &or_err(
            PersonRaw {
                full_name: "Sami Médiation".into(),
                job_title: "Médiateur santé".into(),
                email: "mediation@lens-lievin.maillage.test".into(),
                consent_on: "2024-03-12".into(),
                public_contact: "on".into(),
                account_email: lead_account.unwrap_or("").into(),
                ..Default::default()
            }
            .parse(),
        )?,
    )
    .await?;

    let mut made: Vec<(&'static str, i64)> = Vec::new();
    for (axis_title, objectives) in AXES {
        let axis = contract::add_axis(db, &actor, &c, axis_title).await?;
        for (objective_title, list) in *objectives {
            let o = contract::add_objective(db, &actor, &c, axis.id, objective_title).await?;
            for d in *list {
                let a = contract::add_action(
                    db,
                    &actor,
                    &c,
                    o.id,
                    &or_err(ActionInput::parse(d.title, "", "planned", d.lead))?,
                )
                .await?;
                made.push((d.title, a.id));
                let orgs = partners::organisations(db, territory_id).await?;
                let id_of = |n: &str| {
                    orgs.iter()
                        .find(|o| o.name == n)
                        .map(|o| o.id.to_string())
                        .unwrap_or_default()
                };
                let fiche = FicheRaw {
                    version: a.version.to_string(),
                    title: d.title.into(),
                    findings: d.findings.into(),
                    description: d.description.into(),
                    publics: d.publics.into(),
                    status: d.status.into(),
                    progress: d.progress.into(),
                    period_start: "2024-01-01".into(),
                    period_end: "2027-12-31".into(),
                    lead_org_id: id_of(d.lead),
                    lead_person_id: if d.title.starts_with("Médiateurs") {
                        lead_person.id.to_string()
                    } else {
                        String::new()
                    },
                    partners: d
                        .budget
                        .iter()
                        .map(|(f, _, _)| id_of(f))
                        .filter(|id| *id != id_of(d.lead))
                        .collect(),
                    themes: d.themes.iter().map(|t| t.to_string()).collect(),
                    scope: d.scope.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                };
                actions::save_fiche(db, &actor, &c, a.id, a.version, &or_err(fiche.parse())?)
                    .await?;
                for (funder, year, amount) in d.budget {
                    // Past years: all committed, nine tenths spent.
                    let (committed, spent) = match amount.parse::<i64>() {
                        Ok(a) if *year < "2026" => (a.to_string(), (a * 9 / 10).to_string()),
                        _ => (String::new(), String::new()),
                    };
                    let line = or_err(
                        BudgetLineRaw {
                            funder_id: id_of(funder),
                            year: year.to_string(),
                            amount: amount.to_string(),
                            committed,
                            spent,
                            ..Default::default()
                        }
                        .parse(),
                    )?;
                    actions::add_budget_line(db, &actor, &c, a.id, &line).await?;
                }
                if let Some((label, unit, target, ms)) = d.indicator {
                    let ind = indicators::create(
                        db,
                        &actor,
                        &c,
                        Some(a.id),
                        &or_err(
                            IndicatorRaw {
                                kind: "result".into(),
                                label: label.into(),
                                unit: unit.into(),
                                baseline: "0".into(),
                                target: target.into(),
                                target_on: "2027-12-31".into(),
                                shared: if label == "Personnes accompagnées" {
                                    shared.id.to_string()
                                } else {
                                    String::new()
                                },
                                ..Default::default()
                            }
                            .parse(),
                        )?,
                    )
                    .await?;
                    for (date, value) in ms.iter() {
                        let m = or_err(
                            MeasurementRaw {
                                measured_on: date.to_string(),
                                value: value.to_string(),
                                source: "Bilan d'activité (démonstration)".into(),
                                ..Default::default()
                            }
                            .parse(),
                        )?;
                        indicators::add_measurement(db, &actor, &c, &ind, &m).await?;
                    }
                }
            }
        }
    }
    load_reviews(db, &c, &made).await?;
    load_evaluation(db, &c).await?;
    Ok(())
}

/// Last year's review entries: one validated, one submitted by the lead
/// partner, one returned with the coordination's comment.
async fn load_reviews(db: &Db, c: &Contract, made: &[(&str, i64)]) -> anyhow::Result<()> {
    use crate::domain::review::{Move, ReviewRaw, Writer};
    let coordination = Actor::system("Coordination du CLS (démonstration)");
    let year = (crate::web::contract::list::today().year() - 1).clamp(2024, 2028);
    let id_of = |prefix: &str| {
        made.iter()
            .find(|(t, _)| t.starts_with(prefix))
            .map(|(_, id)| *id)
    };
    let entries = [
        (
            "Accueil des internes",
            "Trois promotions d'internes accueillies (27 internes) : logement meublé à Lens, visite du territoire en bus, rencontre des deux maisons de santé.",
            "Le logement reste difficile à trouver pour les semestres d'hiver.",
            "Une convention avec le bailleur social pour deux appartements réservés.",
            Some((Move::Validate, "Merci, bilan clair et complet.")),
        ),
        (
            "Médiateurs santé",
            "Permanences hebdomadaires dans quatre centres sociaux ; 410 personnes accompagnées depuis le début du contrat, dont 60 % vers une complémentaire santé.",
            "Un poste de médiatrice vacant pendant quatre mois.",
            "Une permanence supplémentaire à Liévin le samedi matin.",
            None,
        ),
        (
            "Premiers secours en santé mentale",
            "Deux sessions de formation (38 personnes formées).",
            "",
            "",
            Some((Move::Return, "Pouvez-vous préciser les publics formés et les difficultés rencontrées ?")),
        ),
    ];
    for (prefix, done, difficulties, next, decision) in entries {
        let Some(action_id) = id_of(prefix) else {
            continue;
        };
        let writer = if prefix.starts_with("Médiateurs") {
            Actor::system("Sami Médiation")
        } else {
            coordination.clone()
        };
        let input = or_err(
            ReviewRaw {
                done: done.into(),
                difficulties: difficulties.into(),
                next_year: next.into(),
                year_end_status: "in_progress".into(),
                envoi: "soumettre".into(),
                ..Default::default()
            }
            .parse(),
        )?;
        let r = reviews::write(
            db,
            &writer,
            c,
            action_id,
            year,
            0,
            Writer::Coordinator,
            &input,
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo review: {e}"))?;
        if let Some((mv, comment)) = decision {
            reviews::decide(
                db,
                &coordination,
                c,
                action_id,
                year,
                r.version,
                mv,
                comment,
            )
            .await
            .map_err(|e| anyhow::anyhow!("demo review: {e}"))?;
        }
    }
    Ok(())
}

/// The standard evaluation questions, three of them answered and backed by
/// indicators.
async fn load_evaluation(db: &Db, c: &Contract) -> anyhow::Result<()> {
    use crate::domain::appraisal::QuestionRaw;
    let actor = Actor::system("maillage demo");
    appraisal::add_standard(db, &actor, c).await?;
    let inds = indicators::for_contract(db, c.id).await?;
    let ind = |label: &str| {
        inds.iter()
            .filter(|i| i.label == label)
            .map(|i| i.id.to_string())
            .collect::<Vec<_>>()
    };
    let answers = [
        (
            "Les actions ont-elles répondu aux besoins",
            "En grande partie : les trois priorités du diagnostic de 2023 (accès aux soins, santé mentale, santé des enfants) ont chacune des actions en cours. La mobilité, citée par les habitants, reste peu traitée.",
            Vec::new(),
        ),
        (
            "Les objectifs opérationnels des fiches action",
            "Les médiateurs santé ont accompagné 410 personnes pour une cible de 600 ; 38 personnes formées aux premiers secours en santé mentale sur 120 visées. Les ateliers dans les écoles ont atteint leur cible (24 ateliers).",
            [ind("Personnes accompagnées"), ind("Personnes formées"), ind("Ateliers réalisés")].concat(),
        ),
        (
            "Les publics les plus éloignés",
            "Oui pour la médiation santé, installée dans les quartiers prioritaires ; moins pour le dépistage, dont le bus n'a pas encore circulé.",
            ind("Personnes accompagnées"),
        ),
    ];
    let questions = appraisal::for_contract(db, c.id).await?;
    for (start, answer, indicators) in answers {
        let Some(q) = questions.iter().find(|q| q.question.starts_with(start)) else {
            continue;
        };
        let input = or_err(
            QuestionRaw {
                version: q.version.to_string(),
                criterion: q.criterion.clone(),
                question: q.question.clone(),
                answer: answer.into(),
                indicators,
            }
            .parse(),
        )?;
        appraisal::update(db, &actor, c, q.id, q.version, &input).await?;
    }
    Ok(())
}
