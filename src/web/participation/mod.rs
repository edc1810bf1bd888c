//! Participation and governance: the public `/t/{territory}/participer`
//! page, working groups (join requests, members' space), questionnaires
//! (answer form with conditions, results with SVG charts, exports), the
//! idea box and the contact form; the back office under
//! `/admin/t/{territory}/participation…`; the API under
//! `/api/v1/participation/{territory}/…`.
//!
//! Public forms carry no account and no tracking; they are protected by a
//! honeypot field, a signed timestamp (minimum fill time) and the database
//! rate limiter (see [`antispam`]).

mod admin;
pub mod antispam;
mod api;
mod public;

use super::access::{Access, Routes};
use crate::domain::roles::Role;
use crate::storage::territories::{self, Territory};
use crate::storage::DbResult;
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    use Access::*;
    let coord = Territory(Role::Coordinator);
    let r = r
        .get("/t/{territory}/participer", Public, public::participer)
        .get("/t/{territory}/groupes/{body}", Public, public::body_page)
        .post(
            "/t/{territory}/groupes/{body}/adhesion",
            Public,
            public::join,
        )
        .get(
            "/t/{territory}/groupes/{body}/espace",
            SignedIn,
            public::space,
        )
        .get(
            "/t/{territory}/groupes/{body}/espace/documents/{document}",
            SignedIn,
            public::space_document,
        )
        .get(
            "/t/{territory}/consultations/{consultation}",
            Public,
            public::consultation_form,
        )
        .post(
            "/t/{territory}/consultations/{consultation}",
            Public,
            public::consultation_submit,
        )
        .get(
            "/t/{territory}/consultations/{consultation}/resultats",
            Public,
            public::results_public,
        )
        .get("/t/{territory}/idees", Public, public::ideas)
        .post("/t/{territory}/idees", Public, public::idea_submit)
        .get("/t/{territory}/contact", Public, public::contact_form)
        .post("/t/{territory}/contact", Public, public::contact_submit)
        .get("/admin/t/{territory}/participation", coord, admin::home)
        .post("/admin/t/{territory}/instances", coord, admin::body_create)
        .get(
            "/admin/t/{territory}/instances/{body}",
            coord,
            admin::body_edit,
        )
        .post(
            "/admin/t/{territory}/instances/{body}",
            coord,
            admin::body_update,
        )
        .post(
            "/admin/t/{territory}/instances/{body}/membres",
            coord,
            admin::member_add,
        )
        .post(
            "/admin/t/{territory}/membres/{member}/fin",
            coord,
            admin::member_end,
        )
        .post(
            "/admin/t/{territory}/instances/{body}/documents",
            coord,
            admin::document_add,
        )
        .post_upload(
            "/admin/t/{territory}/instances/{body}/fichiers",
            coord,
            admin::file_add,
        )
        .post(
            "/admin/t/{territory}/instances/{body}/documents/supprimer",
            coord,
            admin::document_delete,
        )
        .post(
            "/admin/t/{territory}/instances/{body}/reunions",
            coord,
            admin::meeting_create,
        )
        .get(
            "/admin/t/{territory}/reunions/{meeting}",
            coord,
            admin::meeting_edit,
        )
        .post(
            "/admin/t/{territory}/reunions/{meeting}",
            coord,
            admin::meeting_update,
        )
        .post(
            "/admin/t/{territory}/reunions/{meeting}/presences",
            coord,
            admin::meeting_presence,
        )
        .post(
            "/admin/t/{territory}/reunions/{meeting}/invitation",
            coord,
            admin::invitation_send,
        )
        .post(
            "/admin/t/{territory}/reunions/{meeting}/decisions",
            coord,
            admin::decision_add,
        )
        .post(
            "/admin/t/{territory}/demandes/{request}",
            coord,
            admin::request_decide,
        )
        .post(
            "/admin/t/{territory}/demandes/{request}/suppression",
            coord,
            admin::request_delete,
        )
        .post(
            "/admin/t/{territory}/consultations",
            coord,
            admin::consultation_create,
        )
        .get(
            "/admin/t/{territory}/consultations/{consultation}",
            coord,
            admin::consultation_edit,
        )
        .post(
            "/admin/t/{territory}/consultations/{consultation}",
            coord,
            admin::consultation_update,
        )
        .post(
            "/admin/t/{territory}/consultations/{consultation}/questions",
            coord,
            admin::question_add,
        )
        .post(
            "/admin/t/{territory}/questions/{question}",
            coord,
            admin::question_update,
        )
        .post(
            "/admin/t/{territory}/questions/{question}/suppression",
            coord,
            admin::question_delete,
        )
        .post(
            "/admin/t/{territory}/consultations/{consultation}/copie",
            coord,
            admin::consultation_duplicate,
        )
        .post(
            "/admin/t/{territory}/consultations/{consultation}/invitations",
            coord,
            admin::tokens_create,
        )
        .get(
            "/admin/t/{territory}/consultations/{consultation}/resultats",
            coord,
            admin::results,
        )
        .get(
            "/admin/t/{territory}/consultations/{consultation}/reponses.csv",
            Access::Personal(Role::Coordinator),
            admin::export_csv,
        )
        .get(
            "/admin/t/{territory}/consultations/{consultation}/reponses.xlsx",
            Access::Personal(Role::Coordinator),
            admin::export_xlsx,
        )
        .post(
            "/admin/t/{territory}/idees/{idea}",
            coord,
            admin::idea_moderate,
        )
        .post(
            "/admin/t/{territory}/idees/{idea}/suppression",
            coord,
            admin::idea_delete,
        )
        .post(
            "/admin/t/{territory}/messages/{message}/suppression",
            coord,
            admin::message_delete,
        );
    api::routes(r)
}

/// The territory's communes as `(INSEE code, name)`.
pub async fn commune_choices(st: &AppState, t: &Territory) -> DbResult<Vec<(String, String)>> {
    Ok(territories::communes(&st.db, t.id)
        .await?
        .into_iter()
        .map(|c| (c.insee_code.clone(), c.name.clone()))
        .collect())
}

/// An id in a path: anything else is a 404.
pub fn path_id(s: &str) -> Result<i64, crate::web::error::AppError> {
    s.parse().map_err(|_| crate::web::error::AppError::NotFound)
}

/// Every six hours, apply the retention rule to personal data
/// (`storage::participation::purge_personal_data`). Safe with several
/// processes: each run is one idempotent transaction.
pub async fn housekeeping_loop(st: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(6 * 3600));
    loop {
        tick.tick().await;
        match crate::storage::participation::purge_personal_data(&st.db, chrono::Utc::now()).await {
            Ok((0, 0, 0)) => {}
            Ok((a, b, c)) => tracing::info!(
                a,
                b,
                c,
                "participation : données personnelles effacées (rétention)"
            ),
            Err(e) => tracing::warn!(error = %e, "participation : purge de rétention impossible"),
        }
    }
}

/// Queue an e-mail notice in the outbox (`messaging`), which sends it and
/// keeps its receipt on the coordination's page of messages; pages never
/// wait on SMTP. `purpose` names the kind of notice. Nothing without a
/// relay.
pub fn spawn_mail(
    st: &AppState,
    territory_id: i64,
    purpose: &'static str,
    to: String,
    subject: String,
    body: String,
) {
    if st.mailer.is_none() {
        return;
    }
    let st = st.clone();
    tokio::spawn(async move {
        let m = crate::storage::messages::NewMessage {
            territory_id: Some(territory_id),
            channel: crate::domain::messages::Channel::Email,
            recipient: to,
            subject,
            body,
            purpose: purpose.to_owned(),
            // Each call is its own notice.
            dedupe_key: format!("{purpose}:{}", crate::tokens::random_token()),
            not_before: chrono::Utc::now(),
        };
        match crate::storage::messages::enqueue(&st.db, &m).await {
            Ok(_) => st.outbox.wake(),
            Err(e) => tracing::warn!(error = %e, "e-mail non mis en file"),
        }
    });
}
