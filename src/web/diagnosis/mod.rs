//! The territory's health diagnosis: the public page (chapters like an ORS
//! territorial profile, maps with their tables, comparison with the
//! département, the région and France, the coordination's findings), its
//! XLSX export, the JSON API, and the coordinators' back office (findings
//! linked to fiches action, thresholds, questionnaires attached).

mod admin;
pub mod api;
mod outlines;
mod public;
pub mod tables;

use crate::domain::diagnosis::profession::Profession;
use crate::domain::roles::Role;
use crate::web::access::{Access, Routes};

pub fn routes(r: Routes) -> Routes {
    let coord = Access::Territory(Role::Coordinator);
    let r = r
        .get("/t/{territory}/diagnostic", Access::Public, public::page)
        .get(
            "/t/{territory}/diagnostic/tableaux.xlsx",
            Access::Public,
            public::xlsx,
        )
        .get("/admin/t/{territory}/diagnostic", coord, admin::home)
        .post(
            "/admin/t/{territory}/diagnostic/constats",
            coord,
            admin::create_finding,
        )
        .get(
            "/admin/t/{territory}/diagnostic/constats/{finding}",
            coord,
            admin::edit_finding,
        )
        .post(
            "/admin/t/{territory}/diagnostic/constats/{finding}",
            coord,
            admin::update_finding,
        )
        .post(
            "/admin/t/{territory}/diagnostic/constats/{finding}/supprimer",
            coord,
            admin::delete_finding,
        )
        .post(
            "/admin/t/{territory}/diagnostic/seuils",
            coord,
            admin::save_thresholds,
        )
        .post(
            "/admin/t/{territory}/diagnostic/questionnaires",
            coord,
            admin::save_consultations,
        )
        .get("/admin/diagnostic", Access::Admin, admin::bands)
        .post("/admin/diagnostic", Access::Admin, admin::save_bands);
    api::routes(r)
}

/// `?profession=` of the page and the API: a slug, else the GPs.
fn profession_of(q: Option<&str>) -> Option<Profession> {
    match q.map(str::trim).filter(|s| !s.is_empty()) {
        None => Some(Profession::Generalistes),
        Some(s) => Profession::from_slug(s),
    }
}

/// The chapters as form choices (value, label).
pub fn chapter_list() -> Vec<(&'static str, &'static str)> {
    crate::domain::diagnosis::chapter::Chapter::ALL
        .into_iter()
        .map(|c| (c.as_str(), c.label()))
        .collect()
}
