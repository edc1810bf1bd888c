//! The demo territory's diagnosis: the coordination's findings, each
//! linked to the fiches action that answer it, and the demo questionnaire
//! attached as the participatory part. The figures themselves are computed
//! from the demo's registers and outlines (`diagnosis::refresh`).

use crate::domain::diagnosis::chapter::FindingRaw;
use crate::storage::audit::Actor;
use crate::storage::{diagnosis as store, participation, Db};

/// (chapter, title, body, titles of the actions it leads to).
const FINDINGS: &[(&str, &str, &str, &[&str])] = &[
    (
        "population",
        "Une population âgée et modeste dans les cités minières",
        "Les anciennes cités minières concentrent des ménages âgés et aux revenus modestes ; \
         trois quartiers prioritaires sont sur le territoire.",
        &["Médiateurs santé : permanences sans rendez-vous"],
    ),
    (
        "offre",
        "Moins de médecins généralistes que dans le reste de la région",
        "La densité de médecins généralistes libéraux est inférieure à celle du département \
         et de la région ; plusieurs départs en retraite sont annoncés.",
        &["Accueil des internes en médecine générale"],
    ),
    (
        "accessibilite",
        "Des communes éloignées de l'offre de soins",
        "Les communes sous le seuil d'accessibilité sont celles où aucun professionnel n'exerce \
         et dont les cabinets les plus proches sont à plus de dix minutes.",
        &[
            "Médiateurs santé : permanences sans rendez-vous",
            "Bus de dépistage des cancers",
        ],
    ),
    (
        "participation",
        "Trouver un médecin traitant est la première difficulté citée",
        "Lors de la consultation des habitants, trouver un médecin traitant et comprendre ses \
         droits à l'assurance maladie reviennent le plus souvent.",
        &["Médiateurs santé : permanences sans rendez-vous"],
    ),
];

pub async fn load(db: &Db, territory_id: i64) -> anyhow::Result<()> {
    let actor = Actor::system("maillage demo");
    let actions = store::territory_actions(db, territory_id).await?;
    for (chapter, title, body, leads_to) in FINDINGS {
        let input = FindingRaw {
            chapter: (*chapter).into(),
            title: (*title).into(),
            body: (*body).into(),
        }
        .parse()
        .map_err(|e| anyhow::anyhow!("demo finding {title}: {e:?}"))?;
        let ids: Vec<i64> = actions
            .iter()
            .filter(|(_, _, t)| leads_to.contains(&t.as_str()))
            .map(|(id, _, _)| *id)
            .collect();
        store::create_finding(db, &actor, territory_id, &input, &ids).await?;
    }
    let consultations: Vec<i64> = participation::list_consultations(db, territory_id)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    store::set_consultations(db, &actor, territory_id, &consultations).await?;
    Ok(())
}
