//! Changes proposed by lead partners (budget lines, indicator baselines and
//! targets, the lead organisation or person), which the coordination accepts
//! or refuses: the list, the decisions, and what the fiche shows of them.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::fiche::Section;
use crate::domain::dates::paris_datetime;
use crate::domain::roles::Role;
use crate::storage::contract::Contract;
use crate::storage::proposals::{self, Change, Proposal, ProposalStatus};
use crate::storage::{actions, DbError};
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::session::{CurrentUser, SignedIn};
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    let coord = Access::Territory(Role::Coordinator);
    r.get("/admin/t/{territory}/propositions", coord, list)
        .post(
            "/admin/t/{territory}/propositions/{proposal}/accepter",
            coord,
            accept,
        )
        .post(
            "/admin/t/{territory}/propositions/{proposal}/refuser",
            coord,
            refuse,
        )
}

/// A proposal as pages show it.
pub struct ProposalView {
    pub id: i64,
    pub action_id: i64,
    /// « 1.1.1 Médiateurs santé » (lists only).
    pub action: String,
    pub author: String,
    pub summary: String,
    pub pending: bool,
    pub status: &'static str,
    pub reason: String,
    pub created: String,
    pub decided: String,
    pub decided_by: String,
    pub version: i64,
}

pub fn view(p: &Proposal, action: String) -> ProposalView {
    ProposalView {
        id: p.id,
        action_id: p.action_id,
        action,
        author: p.author.clone(),
        summary: p.summary.clone(),
        pending: p.is_pending(),
        status: ProposalStatus::label_of(&p.status),
        reason: p.reason.clone(),
        created: paris_datetime(p.created_at),
        decided: p.decided_at.map(paris_datetime).unwrap_or_default(),
        decided_by: p.decided_by.clone(),
        version: p.version,
    }
}

/// Record a lead partner's change as a proposal and tell the coordination
/// (the territory's contact address, when a mail server is configured).
pub async fn propose(
    st: &AppState,
    tc: &TerritoryCtx,
    user: &CurrentUser,
    c: &Contract,
    action_id: i64,
    change: Change,
    summary: String,
) -> Result<(), AppError> {
    let p = proposals::propose(&st.db, &user.actor(), c, action_id, &change, &summary).await?;
    let t = &tc.territory;
    if !t.contact_email.is_empty() {
        crate::web::participation::spawn_mail(
            st,
            t.id,
            "proposal",
            t.contact_email.clone(),
            "Fiche action : une proposition de changement à valider".into(),
            format!(
                "{} propose un changement sur une fiche action :\n{}\n\nÀ accepter ou refuser dans l’espace professionnel : {}/admin/t/{}/propositions\n",
                p.author,
                p.summary,
                st.config.public_url.trim_end_matches('/'),
                t.slug
            ),
        );
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "contract/proposals.html")]
struct ListPage {
    l: Layout,
    slug: String,
    csrf: String,
    pending: Vec<ProposalView>,
    decided: Vec<ProposalView>,
    /// A message about the last decision tried (409).
    notice: String,
    errors: FormErrors,
    /// The proposal whose refusal was refused, and the reason as typed.
    refused_for: i64,
    reason: String,
}

/// What the list shows besides the proposals: a notice (409) or a refused
/// refusal with the reason as typed (422).
#[derive(Default)]
struct Shown {
    notice: String,
    errors: FormErrors,
    refused_for: i64,
    reason: String,
}

async fn list_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    status: StatusCode,
    shown: Shown,
) -> Result<Response, AppError> {
    let all = proposals::for_territory(&st.db, tc.territory.id, 50).await?;
    let (pending, decided): (Vec<_>, Vec<_>) = all
        .iter()
        .map(|(p, code, title)| view(p, format!("{code} {title}")))
        .partition(|v| v.pending);
    Ok((
        status,
        render(&ListPage {
            l: ctx.admin_layout("Propositions des partenaires".to_owned()),
            slug: tc.territory.slug.clone(),
            csrf: ctx.csrf(),
            pending,
            decided,
            notice: shown.notice,
            errors: shown.errors,
            refused_for: shown.refused_for,
            reason: shown.reason,
        }),
    )
        .into_response())
}

async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    list_page(&st, &ctx, &tc, StatusCode::OK, Shown::default()).await
}

#[derive(Deserialize)]
struct DecisionForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    reason: String,
    /// « fiche »: back to the fiche; else the list.
    #[serde(default)]
    retour: String,
}

/// The proposal (404 outside the territory) and its action's contract.
async fn load(st: &AppState, tc: &TerritoryCtx, id: i64) -> Result<(Proposal, Contract), AppError> {
    let p = proposals::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (c, _) = actions::get(&st.db, tc.territory.id, p.action_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((p, c))
}

fn after(tc: &TerritoryCtx, p: &Proposal, f: &DecisionForm) -> Response {
    let to = if f.retour == "fiche" {
        Section::Presentation.url(&tc.territory.slug, p.action_id)
    } else {
        format!("/admin/t/{}/propositions", tc.territory.slug)
    };
    Redirect::to(&to).into_response()
}

/// Why a decision could not be written, in words.
fn refusal(e: &DbError) -> Option<String> {
    Some(match e {
        DbError::Stale => "Cette proposition a déjà été traitée, ou a changé depuis l'affichage de la page : voici la liste à jour.".into(),
        DbError::Conflict(what) => format!(
            "La proposition ne peut plus s'appliquer : {}. Refusez-la en l'expliquant au partenaire.",
            match what.as_str() {
                "budget_line" => "la ligne de budget a déjà été supprimée",
                "funder_id" => "le financeur n'est plus dans l'annuaire des partenaires",
                "lead_org_id" => "la structure n'est plus dans l'annuaire des partenaires",
                "lead_person_id" => "la personne n'est plus dans l'annuaire des partenaires",
                "indicator" => "l'indicateur a été supprimé",
                _ => "elle ne correspond plus à la fiche",
            }
        ),
        _ => return None,
    })
}

async fn accept(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let (p, c) = load(&st, &tc, id).await?;
    let version: i64 = f.version.trim().parse().unwrap_or(0);
    match proposals::accept(&st.db, &user.actor(), &c, id, version).await {
        Ok(_) => {
            st.cache.clear();
            Ok(after(&tc, &p, &f))
        }
        Err(e) => match refusal(&e) {
            Some(notice) => {
                let shown = Shown {
                    notice,
                    ..Default::default()
                };
                list_page(&st, &ctx, &tc, StatusCode::CONFLICT, shown).await
            }
            None => Err(e.into()),
        },
    }
}

async fn refuse(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let (p, c) = load(&st, &tc, id).await?;
    let version: i64 = f.version.trim().parse().unwrap_or(0);
    let reason = f.reason.trim();
    let too_long = reason.chars().count() > 2000;
    if reason.is_empty() || too_long {
        let mut errors = FormErrors::default();
        errors.push(
            "reason",
            if too_long {
                "Raison du refus : 2 000 caractères au plus"
            } else {
                "Raison du refus : expliquez-la au partenaire en une phrase"
            },
        );
        let shown = Shown {
            errors,
            refused_for: id,
            reason: f.reason.clone(),
            ..Default::default()
        };
        return list_page(&st, &ctx, &tc, StatusCode::UNPROCESSABLE_ENTITY, shown).await;
    }
    match proposals::refuse(&st.db, &user.actor(), &c, id, version, reason).await {
        Ok(_) => Ok(after(&tc, &p, &f)),
        Err(e) => match refusal(&e) {
            Some(notice) => {
                let shown = Shown {
                    notice,
                    ..Default::default()
                };
                list_page(&st, &ctx, &tc, StatusCode::CONFLICT, shown).await
            }
            None => Err(e.into()),
        },
    }
}
