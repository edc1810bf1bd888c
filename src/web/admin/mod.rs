//! The back office (`/admin/…`) and the regional view (`/region/…`).

mod accounts;
mod auth;
mod directory;
pub(crate) mod imports;
mod invitations;
mod territory;

pub(crate) use auth::client_ip;

use super::access::{Access, Routes};
use crate::domain::roles::Role;

pub fn routes(r: Routes) -> Routes {
    use Access::*;
    r.get("/admin/connexion", Public, auth::login_form)
        .post("/admin/connexion", Public, auth::login)
        .post("/admin/deconnexion", SignedIn, auth::logout)
        .get("/admin/", SignedIn, auth::dashboard)
        .get("/admin/mot-de-passe", SignedIn, auth::password_form)
        .post("/admin/mot-de-passe", SignedIn, auth::password_change)
        .get("/admin/reinitialisation/{token}", Public, auth::reset_form)
        .post("/admin/reinitialisation/{token}", Public, auth::reset)
        .get("/admin/invitation/{token}", Public, invitations::show)
        .post(
            "/admin/invitation/{token}",
            Public,
            invitations::create_account,
        )
        .post(
            "/admin/invitations/{id}/accepter",
            SignedIn,
            invitations::accept,
        )
        .get("/admin/territoires/nouveau", Admin, territory::new_form)
        .post("/admin/territoires", Admin, territory::create)
        .get(
            "/admin/t/{territory}/",
            Territory(Role::Member),
            territory::dashboard,
        )
        .get(
            "/admin/t/{territory}/presentation",
            Territory(Role::Coordinator),
            territory::presentation_form,
        )
        .post(
            "/admin/t/{territory}/presentation",
            Territory(Role::Coordinator),
            territory::presentation_save,
        )
        .get(
            "/admin/t/{territory}/perimetre",
            Territory(Role::Coordinator),
            territory::perimeter_form,
        )
        .post(
            "/admin/t/{territory}/perimetre",
            Territory(Role::Coordinator),
            territory::perimeter_save,
        )
        .get(
            "/admin/t/{territory}/comptes",
            Territory(Role::Coordinator),
            accounts::list,
        )
        .post(
            "/admin/t/{territory}/comptes",
            Territory(Role::Coordinator),
            accounts::add,
        )
        .post(
            "/admin/t/{territory}/comptes/{user_id}/role",
            Territory(Role::Coordinator),
            accounts::change_role,
        )
        .post(
            "/admin/t/{territory}/comptes/{user_id}/retirer",
            Territory(Role::Coordinator),
            accounts::remove,
        )
        .get(
            "/admin/t/{territory}/annuaire",
            Territory(Role::Coordinator),
            directory::index,
        )
        .post(
            "/admin/t/{territory}/annuaire/services",
            Territory(Role::Coordinator),
            directory::create,
        )
        .get(
            "/admin/t/{territory}/annuaire/services/{id}",
            Territory(Role::Coordinator),
            directory::edit_form,
        )
        .post(
            "/admin/t/{territory}/annuaire/services/{id}",
            Territory(Role::Coordinator),
            directory::update,
        )
        .post(
            "/admin/t/{territory}/annuaire/reperes",
            Territory(Role::Coordinator),
            directory::set_mark,
        )
        .get("/admin/annuaire/imports", Admin, imports::index)
        .post_upload("/admin/annuaire/imports", Admin, imports::upload)
}

/// History rows as the templates show them.
pub struct HistoryRow {
    pub when: String,
    pub actor: String,
    pub details: String,
}

pub fn history_rows(entries: Vec<crate::storage::audit::Entry>) -> Vec<HistoryRow> {
    entries
        .into_iter()
        .map(|e| HistoryRow {
            when: crate::domain::dates::paris_datetime(e.at),
            actor: e.actor,
            details: e.details,
        })
        .collect()
}
