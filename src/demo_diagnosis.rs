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

/// The figures the demo territory would have had the year before, so that
/// the demo's yearly review shows what changed: the current figures
/// (kept by `diagnosis::refresh`) with the population a little higher, two
/// more general practitioners before their retirement and one commune
/// fewer under the threshold. Demo data only: a real instance keeps each
/// year's figures as the scores are computed.
pub async fn previous_year_figures(
    db: &Db,
    territory_id: i64,
    today: chrono::NaiveDate,
) -> anyhow::Result<()> {
    use chrono::Datelike;
    let d = crate::diagnosis::load(db, territory_id, false).await?;
    let mut figures = crate::diagnosis::headline_figures(&d);
    for f in &mut figures {
        match f.key.as_str() {
            "population" => f.value = (f.value * 1.006).round(),
            "share_75" => f.value -= 0.3,
            "supply:generalistes" => f.value += 2.0,
            "flagged:generalistes" if f.value >= 1.0 => f.value -= 1.0,
            _ => {}
        }
    }
    // Densities follow the supply and the population.
    let population = figures
        .iter()
        .find(|f| f.key == "population")
        .map(|f| f.value);
    let supplies: Vec<(String, f64)> = figures
        .iter()
        .filter_map(|f| Some((f.key.strip_prefix("supply:")?.to_owned(), f.value)))
        .collect();
    for f in &mut figures {
        if let (Some(slug), Some(p)) = (f.key.strip_prefix("density:"), population) {
            if let Some((_, s)) = supplies.iter().find(|(k, _)| k == slug) {
                if let Some(d) = crate::domain::diagnosis::density_per_10000(*s, p) {
                    f.value = d;
                }
            }
        }
    }
    let at = chrono::Utc::now() - chrono::Duration::days(365);
    store::save_figures(db, territory_id, today.year() - 1, &figures, at).await?;
    Ok(())
}
