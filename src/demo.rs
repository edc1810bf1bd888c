//! The demo territory: the CA de Lens - Liévin from the official commune
//! list, with a coordinator, a partner, a regional and an admin account.

use crate::accounts::{self, random_password, AccountError};
use crate::domain::codes::Slug;
use crate::domain::roles::{InstanceRole, Role};
use crate::domain::territory::{NewTerritory, Profile, TerritoryKind};
use crate::import::geography;
use crate::storage::audit::Actor;
use crate::storage::{communes, territories, users, Db};

pub const COMMUNES_JSON: &[u8] = include_bytes!("../data/demo/communes.json");
pub const EPCI_JSON: &[u8] = include_bytes!("../data/demo/epci.json");
pub const QPV_CSV: &[u8] = include_bytes!("../data/demo/qpv.csv");
pub const FINESS: &[u8] = include_bytes!("../data/demo/finess.csv");
pub const RPPS: &[u8] = include_bytes!("../data/demo/rpps.txt");
pub const NEIGHBOUR_COMMUNES_JSON: &[u8] = include_bytes!("../data/demo/communes-voisines.json");
pub const CONTOURS: &[u8] = include_bytes!("../data/demo/contours.geojson");

pub const SLUG: &str = "lens-lievin";
pub const EPCI_SIREN: &str = "246200364";

/// The demo accounts: label and e-mail.
pub const ACCOUNTS: [(&str, &str); 4] = [
    ("coordination", "coordination@lens-lievin.maillage.test"),
    ("partenaire", "mediation@lens-lievin.maillage.test"),
    ("régional (ARS)", "ars@maillage.test"),
    ("administration", "admin@maillage.test"),
];

/// An account the demo created, with its password in clear (printed once).
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub label: &'static str,
    pub email: String,
    pub password: String,
}

/// Load the official geography subset shipped with the code.
pub async fn load_geography(db: &Db) -> anyhow::Result<()> {
    geography::import_communes(db, COMMUNES_JSON).await?;
    geography::import_epcis(db, EPCI_JSON).await?;
    geography::import_qpvs(db, QPV_CSV).await?;
    Ok(())
}

/// Load the communes within 30 km of the demo territory and the outlines of
/// all, so that the demo shows maps and catchments that cross the
/// territory's border (not part of [`load_geography`], which many tests
/// call: the outlines take a moment to simplify).
pub async fn load_maps(db: &Db) -> anyhow::Result<()> {
    geography::import_communes(db, NEIGHBOUR_COMMUNES_JSON).await?;
    crate::import::geo::import(db, CONTOURS).await?;
    Ok(())
}

/// Load the illustrative directory rows (FINESS and RPPS formats): the named
/// rows alone, as the tests know them. The demo itself adds a care supply
/// of the country's density around them (`demo_directory`).
pub async fn load_directory(db: &Db) -> anyhow::Result<()> {
    crate::import::finess::import(db, FINESS).await?;
    crate::import::rpps::import(db, RPPS).await?;
    Ok(())
}

/// Create the demo territory unless it exists. Returns the accounts created.
pub async fn load(db: &Db) -> anyhow::Result<Option<Vec<DemoAccount>>> {
    if territories::get_by_slug(db, SLUG).await?.is_some() {
        return Ok(None);
    }
    load_geography(db).await?;
    load_maps(db).await?;
    crate::demo_directory::load(db).await?;
    let actor = Actor::system("maillage demo");
    let t = territories::create(
        db,
        &actor,
        &NewTerritory {
            slug: Slug::parse(SLUG)?,
            name: "Communauté d'agglomération de Lens-Liévin".into(),
            kind: TerritoryKind::Epci,
        },
    )
    .await?;
    let members: Vec<String> = communes::epci_communes(db, EPCI_SIREN)
        .await?
        .into_iter()
        .map(|c| c.insee_code)
        .collect();
    territories::set_communes(db, &actor, t.id, Some(EPCI_SIREN), &members).await?;
    let profile = Profile {
        name: t.name.clone(),
        presentation: "Avec le Contrat Local de Santé (CLS) et l'Atelier Santé Ville (ASV), l'agglomération \
participe à la construction de dynamiques territoriales de santé, au plus près des habitants.\n\n\
Les médiateurs santé vous informent et vous accompagnent dans vos démarches de santé lors de \
permanences sans rendez-vous dans les communes de l'agglomération.\n\n\
Trois axes structurent le contrat : l'attractivité du territoire pour les professionnels de santé, \
l'accès à la prévention et aux soins des personnes les plus démunies, la santé des enfants et des jeunes."
            .into(),
        contact_name: "Coordination du Contrat Local de Santé".into(),
        contact_email: "cls@lens-lievin.maillage.test".into(),
        contact_phone: "03 21 00 00 00".into(),
        contact_address: "21 rue Marcel Sembat\n62300 Lens".into(),
    };
    territories::update_profile(db, &actor, t.id, t.version + 1, &profile).await?;

    let wanted: [(&str, &str, &str, InstanceRole, Option<Role>); 4] = [
        (
            ACCOUNTS[0].0,
            ACCOUNTS[0].1,
            "Camille Coordination",
            InstanceRole::None,
            Some(Role::Coordinator),
        ),
        (
            ACCOUNTS[1].0,
            ACCOUNTS[1].1,
            "Sami Médiation",
            InstanceRole::None,
            Some(Role::Partner),
        ),
        (
            ACCOUNTS[2].0,
            ACCOUNTS[2].1,
            "Agence régionale de santé",
            InstanceRole::Regional,
            None,
        ),
        (
            ACCOUNTS[3].0,
            ACCOUNTS[3].1,
            "Administration",
            InstanceRole::Admin,
            None,
        ),
    ];
    crate::storage::participation::seed_demo(db, t.id).await?;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    crate::demo_agenda::load(db, t.id, today).await?;
    let mut out = Vec::new();
    for (label, email, name, instance_role, role) in wanted {
        let password = random_password();
        let user =
            match accounts::create_user(db, &actor, email, name, &password, instance_role).await {
                Ok(u) => u,
                Err(AccountError::Exists(_)) => continue,
                Err(e) => return Err(e.into()),
            };
        if let Some(role) = role {
            users::set_membership(db, &actor, t.id, user.id, role).await?;
        }
        out.push(DemoAccount {
            label,
            email: email.to_owned(),
            password,
        });
    }
    let partner = out
        .iter()
        .any(|a| a.email == "mediation@lens-lievin.maillage.test");
    crate::demo_contract::load(
        db,
        t.id,
        partner.then_some("mediation@lens-lievin.maillage.test"),
    )
    .await?;
    crate::demo_agenda::link_actions(db, t.id, today).await?;
    crate::demo_agenda::load_slots(
        db,
        t.id,
        today,
        partner.then_some("mediation@lens-lievin.maillage.test"),
    )
    .await?;
    crate::demo_referrals::load(
        db,
        t.id,
        chrono::Utc::now(),
        partner.then_some("mediation@lens-lievin.maillage.test"),
    )
    .await?;
    crate::demo_diagnosis::load(db, t.id).await?;
    crate::demo_evaluation::load(db, t.id, today).await?;
    crate::diagnosis::refresh(db).await?;
    crate::demo_diagnosis::previous_year_figures(db, t.id, today).await?;
    Ok(Some(out))
}
