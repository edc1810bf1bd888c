//! A territory's accounts and their roles, managed by its coordinators.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::domain::codes::Email;
use crate::domain::roles::Role;
use crate::domain::text;
use crate::storage::invitations;
use crate::storage::users::{self, Member};
use crate::storage::DbError;
use crate::web::access::TerritoryCtx;
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::AppState;

fn roles() -> Vec<(&'static str, &'static str)> {
    Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect()
}

#[derive(Deserialize, Default)]
pub struct AddForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
}

#[derive(Template)]
#[template(path = "admin/accounts.html")]
struct AccountsPage {
    l: Layout,
    slug: String,
    csrf: String,
    members: Vec<Member>,
    roles: Vec<(&'static str, &'static str)>,
    form: AddForm,
    errors: FormErrors,
    notice: Option<String>,
    invite_link: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    fait: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    status: StatusCode,
    form: AddForm,
    errors: FormErrors,
    notice: Option<String>,
    invite_link: Option<String>,
) -> Result<Response, AppError> {
    let members = users::territory_members(&st.db, tc.territory.id).await?;
    Ok((
        status,
        render(&AccountsPage {
            l: ctx.admin_layout("Comptes et rôles"),
            slug: tc.territory.slug.clone(),
            csrf: ctx.csrf(),
            members,
            roles: roles(),
            form,
            errors,
            notice,
            invite_link,
        }),
    )
        .into_response())
}

pub async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let notice = q.fait.map(|what| match what.as_str() {
        "role" => "Rôle modifié.".to_owned(),
        "retrait" => "Accès retiré.".to_owned(),
        _ => "Accès accordé.".to_owned(),
    });
    let form = AddForm {
        role: "partner".into(),
        ..Default::default()
    };
    page(
        &st,
        &ctx,
        &tc,
        StatusCode::OK,
        form,
        FormErrors::default(),
        notice,
        None,
    )
    .await
}

pub async fn add(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(form): Form<AddForm>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.push("email", e.0))
        .ok();
    let name = text::bounded(&form.display_name, "Nom affiché", false, 120)
        .map_err(|e| errors.push("display_name", e.0))
        .ok();
    let role = Role::parse(&form.role);
    if role.is_none() {
        errors.push("role", "Choisissez un rôle.");
    }
    let (Some(email), Some(name), Some(role), true) = (email, name, role, errors.is_empty()) else {
        return page(
            &st,
            &ctx,
            &tc,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
            None,
            None,
        )
        .await;
    };
    // An invitation, whatever the e-mail: the answer is the same whether an
    // account exists or not, and no account gets a role it did not accept.
    let token = invitations::create(
        &st.db,
        &tc.user.actor(),
        tc.territory.id,
        email.as_str(),
        role,
    )
    .await?;
    let link = format!(
        "{}/admin/invitation/{token}",
        st.config.public_url.trim_end_matches('/')
    );
    if let Some(mailer) = st.mailer.clone() {
        let (to, territory, role_label, link, name) = (
            email.as_str().to_owned(),
            tc.territory.name.clone(),
            role.label(),
            link.clone(),
            name,
        );
        tokio::spawn(async move {
            let hello = if name.is_empty() {
                "Bonjour,".to_owned()
            } else {
                format!("Bonjour {name},")
            };
            let body = format!(
                "{hello}\n\nLa coordination vous invite à rejoindre « {territory} » avec le rôle « {role_label} ».\n\
                 Pour accepter (avec votre compte, ou en le créant) : {link}\n\nCe lien est valable {} jours.\n",
                invitations::VALID_DAYS
            );
            if let Err(e) = mailer
                .send(&to, &format!("Invitation : {territory}"), &body)
                .await
            {
                tracing::warn!(error = %e, "invitation e-mail not sent");
            }
        });
    }
    let form = AddForm {
        role: "partner".into(),
        ..Default::default()
    };
    page(
        &st,
        &ctx,
        &tc,
        StatusCode::OK,
        form,
        FormErrors::default(),
        Some(format!(
            "Invitation enregistrée pour {} ({}). La personne accepte en se connectant, ou en créant son compte depuis le lien ci-dessous.",
            email.as_str(),
            role.label()
        )),
        Some(link),
    )
    .await
}

const LAST_COORDINATOR: &str =
    "Le territoire doit garder au moins une personne à la coordination : nommez-en une autre d'abord.";

/// A territory always keeps at least one coordinator.
async fn would_orphan(st: &AppState, tc: &TerritoryCtx, user_id: i64) -> Result<bool, AppError> {
    let members = users::territory_members(&st.db, tc.territory.id).await?;
    let coordinators: Vec<_> = members
        .iter()
        .filter(|m| m.role == Role::Coordinator.as_str())
        .collect();
    Ok(coordinators.len() == 1 && coordinators[0].user_id == user_id)
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    Path((_, user_id)): Path<(String, i64)>,
    Form(f): Form<RoleForm>,
) -> Result<Response, AppError> {
    let role = Role::parse(&f.role).ok_or_else(|| AppError::BadRequest("Rôle inconnu.".into()))?;
    let is_member = users::territory_members(&st.db, tc.territory.id)
        .await?
        .iter()
        .any(|m| m.user_id == user_id);
    if !is_member {
        return Err(AppError::NotFound);
    }
    if role != Role::Coordinator && would_orphan(&st, &tc, user_id).await? {
        return Err(AppError::Conflict(LAST_COORDINATOR.into()));
    }
    users::set_membership(&st.db, &tc.user.actor(), tc.territory.id, user_id, role).await?;
    Ok(Redirect::to(&format!("/admin/t/{}/comptes?fait=role", tc.territory.slug)).into_response())
}

pub async fn remove(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    Path((_, user_id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    if would_orphan(&st, &tc, user_id).await? {
        return Err(AppError::Conflict(LAST_COORDINATOR.into()));
    }
    match users::remove_membership(&st.db, &tc.user.actor(), tc.territory.id, user_id).await {
        Ok(()) => Ok(Redirect::to(&format!(
            "/admin/t/{}/comptes?fait=retrait",
            tc.territory.slug
        ))
        .into_response()),
        Err(DbError::NotFound) => Err(AppError::NotFound),
        Err(e) => Err(e.into()),
    }
}
