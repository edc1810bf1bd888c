//! Accepting an invitation to a territory role (see `storage::invitations`):
//! through the link the coordinator sent, signed in with the invited
//! account or creating it; or from the dashboard once signed in.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use crate::accounts::{self, AccountError};
use crate::domain::roles::{InstanceRole, Role};
use crate::storage::audit::Actor;
use crate::storage::invitations::{self, Invitation};
use crate::web::error::AppError;
use crate::web::pages::{render, url_encode, Ctx, FormErrors, Layout};
use crate::web::redirect;
use crate::web::session::{self, SignedIn};
use crate::web::AppState;

#[derive(Template)]
#[template(path = "admin/invitation.html")]
struct InvitationPage {
    l: Layout,
    csrf: String,
    id: i64,
    token: String,
    territory: String,
    role: &'static str,
    email: String,
    invited_by: String,
    signed_in: bool,
    signed_in_as_invitee: bool,
    back: String,
    display_name: String,
    errors: FormErrors,
}

fn expired() -> AppError {
    AppError::BadRequest(
        "Cette invitation a expiré ou a déjà servi. Demandez-en une nouvelle à la coordination du territoire."
            .into(),
    )
}

async fn live(st: &AppState, token: &str) -> Result<Invitation, AppError> {
    invitations::by_token(&st.db, token)
        .await?
        .ok_or_else(expired)
}

fn page(
    ctx: &Ctx,
    inv: &Invitation,
    token: &str,
    form: &AccountForm,
    errors: FormErrors,
) -> InvitationPage {
    let user = ctx.user.as_ref();
    InvitationPage {
        l: ctx.admin_layout("Invitation"),
        csrf: ctx.csrf(),
        id: inv.id,
        token: url_encode(token),
        territory: inv.territory_name.clone(),
        role: inv.role().map(Role::label).unwrap_or("?"),
        email: inv.email.clone(),
        invited_by: inv.invited_by.clone(),
        signed_in: user.is_some(),
        signed_in_as_invitee: user.is_some_and(|u| u.user.email == inv.email),
        back: url_encode(&format!("/admin/invitation/{}", url_encode(token))),
        display_name: form.display_name.clone(),
        errors,
    }
}

pub async fn show(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let inv = live(&st, &token).await?;
    Ok(render(&page(
        &ctx,
        &inv,
        &token,
        &AccountForm::default(),
        FormErrors::default(),
    )))
}

#[derive(Deserialize, Default)]
pub struct AccountForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// Create the invited account with the password chosen, accept, sign in.
pub async fn create_account(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(f): Form<AccountForm>,
) -> Result<Response, AppError> {
    let inv = live(&st, &token).await?;
    if ctx.user.is_some() {
        return Ok(render(&page(&ctx, &inv, &token, &f, FormErrors::default())));
    }
    let mut errors = FormErrors::default();
    if let Err(e) = accounts::check_password(&f.new) {
        errors.push("new", e.0);
    } else if f.new != f.confirm {
        errors.push(
            "confirm",
            "Les deux saisies du mot de passe sont différentes.",
        );
    }
    let mut user = None;
    if errors.is_empty() {
        // Whoever holds the link received it at that address: they may
        // learn that an account exists for it.
        match accounts::create_user(
            &st.db,
            &Actor::system("invitation"),
            &inv.email,
            &f.display_name,
            &f.new,
            InstanceRole::None,
        )
        .await
        {
            Ok(u) => user = Some(u),
            Err(AccountError::Db(e)) => return Err(e.into()),
            Err(AccountError::Exists(_)) => errors.push(
                "display_name",
                "Un compte existe déjà pour cette adresse : connectez-vous pour accepter l'invitation.",
            ),
            Err(e) => errors.push("display_name", e.to_string()),
        }
    }
    let Some(user) = user else {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&page(&ctx, &inv, &token, &f, errors)),
        )
            .into_response());
    };
    let actor = Actor {
        user_id: Some(user.id),
        label: format!("{} <{}>", user.display_name, user.email),
    };
    invitations::accept(&st.db, &actor, inv.id, user.id, &inv.email).await?;
    let cookie = session::open(&st, user.id).await?;
    let mut resp = redirect::see_other(&format!("/admin/t/{}/", inv.territory_slug));
    resp.headers_mut().append(SET_COOKIE, cookie);
    Ok(resp)
}

/// The signed-in account accepts an invitation addressed to its e-mail.
pub async fn accept(
    State(st): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let pending = invitations::for_email(&st.db, &user.user.email).await?;
    let Some(inv) = pending.into_iter().find(|i| i.id == id) else {
        return Err(AppError::NotFound);
    };
    if !invitations::accept(&st.db, &user.actor(), id, user.user.id, &user.user.email).await? {
        return Err(AppError::NotFound);
    }
    Ok(redirect::see_other(&format!(
        "/admin/t/{}/",
        inv.territory_slug
    )))
}
