//! Back office: edit and end what the agenda holds — places, sessions and
//! drop-in series — always through a confirmation page before a removal or
//! a cancellation, and keeping the history (an ended series keeps its past
//! dates, a session with registrations is cancelled rather than removed, a
//! place in use stays).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Duration;
use chrono_tz::Europe::Paris;
use serde::Deserialize;

use super::admin::{id_of, not_found, place_input, session_of};
use super::today_paris;
use crate::domain::agenda::event::Audience;
use crate::domain::dates;
use crate::domain::text::plural;
use crate::storage::agenda::{self as store, Place, SeriesEnd};
use crate::storage::territories;
use crate::storage::DbError;
use crate::web::access::TerritoryCtx;
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::AppState;
use crate::web::{flash, form};

/// « Confirmer ? »: what will happen, a danger button that POSTs, a way back.
#[derive(Template)]
#[template(path = "agenda/confirm.html")]
pub struct ConfirmPage {
    l: Layout,
    heading: String,
    paragraphs: Vec<String>,
    action: String,
    button: String,
    back: String,
    csrf: String,
}

fn confirm(
    ctx: &Ctx,
    heading: &str,
    paragraphs: Vec<String>,
    action: String,
    button: &str,
    back: String,
) -> Response {
    render(&ConfirmPage {
        l: ctx.admin_layout(heading.to_owned()),
        heading: heading.to_owned(),
        paragraphs,
        action,
        button: button.to_owned(),
        back,
        csrf: ctx.csrf(),
    })
}

// ---------------------------------------------------------------- places

#[derive(Deserialize, Default, Clone)]
pub struct PlaceEditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    insee_code: String,
    #[serde(default)]
    access_notes: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    version: String,
}

#[derive(Template)]
#[template(path = "agenda/place_form.html")]
struct PlacePage {
    l: Layout,
    slug: String,
    csrf: String,
    id: i64,
    form: PlaceEditForm,
    errors: FormErrors,
    communes: Vec<crate::storage::communes::Commune>,
    uses: i64,
    uses_label: String,
}

async fn place_of(st: &AppState, tc: &TerritoryCtx, id: &str) -> Result<Place, AppError> {
    store::get_place(&st.db, tc.territory.id, id_of(id)?)
        .await
        .map_err(not_found)
}

async fn place_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    id: i64,
    form: PlaceEditForm,
    errors: FormErrors,
) -> Result<PlacePage, AppError> {
    let uses = store::place_uses(&st.db, tc.territory.id, id)
        .await
        .map_err(not_found)?;
    Ok(PlacePage {
        l: ctx.admin_layout("Modifier le lieu"),
        slug: tc.territory.slug.clone(),
        csrf: ctx.csrf(),
        id,
        form,
        errors,
        communes: territories::communes(&st.db, tc.territory.id).await?,
        uses,
        uses_label: plural(uses, "permanence ou séance", "permanences ou séances"),
    })
}

pub async fn place_edit(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let p = place_of(&st, &tc, &id).await?;
    let form = PlaceEditForm {
        name: p.name.clone(),
        address: p.address.clone(),
        insee_code: p.insee_code.clone(),
        access_notes: p.access_notes.clone(),
        phone: p.phone.clone(),
        version: p.version.to_string(),
    };
    Ok(render(
        &place_page(&st, &ctx, &tc, p.id, form, FormErrors::default()).await?,
    ))
}

pub async fn place_update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(form): Form<PlaceEditForm>,
) -> Result<Response, AppError> {
    let p = place_of(&st, &tc, &id).await?;
    let t = &tc.territory;
    let communes = territories::communes(&st.db, t.id).await?;
    let version = form::version(&form.version);
    let stale = format!(
        "Quelqu’un a modifié ce lieu pendant que vous le modifiiez (il s’appelle maintenant « {} », {}). Votre saisie est conservée : enregistrez à nouveau pour la garder.",
        p.name, p.commune_name
    );
    form::submit(
        form,
        |f| {
            place_input(
                &f.name,
                &f.address,
                &f.insee_code,
                &f.access_notes,
                &f.phone,
                &communes,
            )
        },
        async |input| {
            let actor = tc.user.actor();
            Ok(store::update_place(&st.db, &actor, t.id, p.id, version, &input).await?)
        },
        ("place_name", &stale),
        |_| flash::see_other(&format!("/admin/t/{}/agenda", t.slug), "Lieu enregistré."),
        async |again| {
            let mut typed = again.typed;
            // After a stale save the message names the stored place, and the
            // next save starts from it.
            if again.stale {
                typed.version = place_of(&st, &tc, &id).await?.version.to_string();
            }
            let page = place_page(&st, &ctx, &tc, p.id, typed, again.errors).await?;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

pub async fn place_delete_confirm(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let p = place_of(&st, &tc, &id).await?;
    let slug = &tc.territory.slug;
    Ok(confirm(
        &ctx,
        "Supprimer ce lieu ?",
        vec![format!(
            "« {} », {}, {} sera retiré de la liste des lieux.",
            p.name, p.address, p.commune_name
        )],
        format!("/admin/t/{slug}/lieux/{}/supprimer", p.id),
        "Supprimer le lieu",
        format!("/admin/t/{slug}/lieux/{}", p.id),
    ))
}

pub async fn place_delete(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let p = place_of(&st, &tc, &id).await?;
    match store::delete_place(&st.db, &tc.user.actor(), tc.territory.id, p.id).await {
        Ok(()) => {
            Ok(Redirect::to(&format!("/admin/t/{}/agenda", tc.territory.slug)).into_response())
        }
        Err(DbError::Conflict(_)) => {
            let mut errors = FormErrors::default();
            errors.push(
                "place_name",
                "Ce lieu sert encore à des permanences ou des séances : il est gardé pour leur historique. Choisissez un autre lieu pour elles d’abord.",
            );
            let form = PlaceEditForm {
                name: p.name.clone(),
                address: p.address.clone(),
                insee_code: p.insee_code.clone(),
                access_notes: p.access_notes.clone(),
                phone: p.phone.clone(),
                version: p.version.to_string(),
            };
            let page = place_page(&st, &ctx, &tc, p.id, form, errors).await?;
            Ok((StatusCode::CONFLICT, render(&page)).into_response())
        }
        Err(e) => Err(not_found(e)),
    }
}

// ---------------------------------------------------------------- series

pub async fn series_end_confirm(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let s = store::get_series(&st.db, tc.territory.id, id_of(&id)?)
        .await
        .map_err(not_found)?;
    let slug = &tc.territory.slug;
    let yesterday = today_paris() - Duration::days(1);
    Ok(confirm(
        &ctx,
        "Arrêter cette permanence ?",
        vec![
            format!("« {} » n’aura plus de date à partir d’aujourd’hui ({}).", s.title, dates::short_date(today_paris())),
            format!(
                "Les dates passées (jusqu’au {}) restent dans l’historique. Une permanence qui n’a pas encore eu lieu est supprimée.",
                dates::short_date(yesterday)
            ),
        ],
        format!("/admin/t/{slug}/permanences/{}/arreter", s.id),
        "Arrêter la permanence",
        format!("/admin/t/{slug}/permanences/{}", s.id),
    ))
}

pub async fn series_end(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let t = &tc.territory;
    let yesterday = today_paris() - Duration::days(1);
    let series = store::get_series(&st.db, t.id, id)
        .await
        .map_err(not_found)?;
    // The coming slot bookings are cancelled with the series: the people
    // who left an e-mail are told.
    let booked = store::booked_from(&st.db, id, today_paris()).await?;
    let outcome = store::end_series(&st.db, &tc.user.actor(), t.id, id, yesterday)
        .await
        .map_err(not_found)?;
    let cancelled: Vec<store::ChangedBooking> = booked
        .into_iter()
        .map(|booking| store::ChangedBooking {
            booking,
            now_at: None,
            place_id: None,
        })
        .collect();
    super::notify::slots_changed(
        &st,
        &t.slug,
        &series.title,
        &[],
        series.place_id,
        &cancelled,
    );
    Ok(match outcome {
        SeriesEnd::EndedOn(_) => {
            Redirect::to(&format!("/admin/t/{}/permanences/{}", t.slug, id)).into_response()
        }
        SeriesEnd::Removed => Redirect::to(&format!("/admin/t/{}/agenda", t.slug)).into_response(),
    })
}

// ---------------------------------------------------------------- sessions

/// The session form of `admin.rs`, edited here.
pub type SessionEditForm = super::admin::SessionForm;

#[derive(Template)]
#[template(path = "agenda/session_form.html")]
struct SessionPage {
    l: Layout,
    slug: String,
    csrf: String,
    id: i64,
    event_id: i64,
    title: String,
    form: SessionEditForm,
    errors: FormErrors,
    places: Vec<Place>,
    audiences: Vec<(&'static str, &'static str)>,
}

async fn session_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    e: &store::Event,
    s: &store::Session,
    form: SessionEditForm,
    errors: FormErrors,
) -> Result<SessionPage, AppError> {
    Ok(SessionPage {
        l: ctx.admin_layout("Modifier la séance"),
        slug: tc.territory.slug.clone(),
        csrf: ctx.csrf(),
        id: s.id,
        event_id: e.id,
        title: e.title.clone(),
        form,
        errors,
        places: store::list_places(&st.db, tc.territory.id).await?,
        audiences: Audience::ALL
            .iter()
            .map(|a| (a.as_str(), a.label()))
            .collect(),
    })
}

pub async fn session_edit(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (e, s) = session_of(&st, &tc, &id).await?;
    let (a, b) = (
        s.starts_at.with_timezone(&Paris),
        s.ends_at.with_timezone(&Paris),
    );
    let form = SessionEditForm {
        date: a.format("%Y-%m-%d").to_string(),
        start: a.format("%H:%M").to_string(),
        end: b.format("%H:%M").to_string(),
        place_id: s.place_id.map(|p| p.to_string()).unwrap_or_default(),
        capacity: s.capacity.map(|c| c.to_string()).unwrap_or_default(),
        audience: s.audience.clone(),
        audience_roles: s.audience_roles.clone(),
    };
    Ok(render(
        &session_page(&st, &ctx, &tc, &e, &s, form, FormErrors::default()).await?,
    ))
}

pub async fn session_update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<SessionEditForm>,
) -> Result<Response, AppError> {
    let (e, s) = session_of(&st, &tc, &id).await?;
    let t = &tc.territory;
    let places = store::list_places(&st.db, t.id).await?;
    form::submit(
        f,
        |f| f.parse(&places),
        async |input| {
            let promoted =
                store::update_session(&st.db, &tc.user.actor(), t.id, s.id, &input).await?;
            super::notify::promoted(&st, &t.slug, &e.title, input.starts_at, &promoted).await;
            if input.starts_at != s.starts_at || input.place_id != s.place_id {
                super::notify::session_changed_sms(
                    &st,
                    &t.slug,
                    &e.title,
                    s.id,
                    Some(input.starts_at),
                )
                .await;
            }
            Ok(())
        },
        form::UNVERSIONED,
        |()| {
            let to = format!("/admin/t/{}/evenements/{}", t.slug, e.id);
            flash::see_other(&to, "Séance enregistrée.")
        },
        async |again| {
            let page = session_page(&st, &ctx, &tc, &e, &s, again.typed, again.errors).await?;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

pub async fn session_cancel_confirm(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (e, s) = session_of(&st, &tc, &id).await?;
    let slug = &tc.territory.slug;
    Ok(confirm(
        &ctx,
        "Annuler cette séance ?",
        vec![
            format!("{} — {}.", e.title, dates::paris_datetime(s.starts_at)),
            format!(
                "Les inscriptions seront fermées ; les personnes inscrites ({}) restent dans la liste et sont prévenues par e-mail quand elles en ont laissé un.",
                plural(s.taken + s.waiting, "personne", "personnes")
            ),
        ],
        format!("/admin/t/{slug}/seances/{}/annulation", s.id),
        "Annuler la séance",
        format!("/admin/t/{slug}/evenements/{}", e.id),
    ))
}

pub async fn session_delete_confirm(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (e, s) = session_of(&st, &tc, &id).await?;
    let slug = &tc.territory.slug;
    let registered = !store::registrations(&st.db, s.id).await?.is_empty();
    let mut paragraphs = vec![format!(
        "{} — {}.",
        e.title,
        dates::paris_datetime(s.starts_at)
    )];
    paragraphs.push(if registered {
        "Des personnes se sont inscrites : la séance ne peut pas être supprimée, annulez-la (la liste des inscriptions est gardée).".to_owned()
    } else {
        "Personne n’est inscrit : la séance sera retirée de l’agenda.".to_owned()
    });
    Ok(confirm(
        &ctx,
        "Supprimer cette séance ?",
        paragraphs,
        format!("/admin/t/{slug}/seances/{}/supprimer", s.id),
        "Supprimer la séance",
        format!("/admin/t/{slug}/evenements/{}", e.id),
    ))
}

pub async fn session_delete(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (e, s) = session_of(&st, &tc, &id).await?;
    let slug = &tc.territory.slug;
    match store::delete_session(&st.db, &tc.user.actor(), tc.territory.id, s.id).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/t/{slug}/evenements/{}", e.id)).into_response()),
        Err(DbError::Conflict(_)) => {
            let page = confirm(
                &ctx,
                "Cette séance a des inscriptions",
                vec!["Elle ne peut pas être supprimée : annulez-la plutôt, la liste des inscriptions est gardée.".into()],
                format!("/admin/t/{slug}/seances/{}/annulation", s.id),
                "Annuler la séance",
                format!("/admin/t/{slug}/evenements/{}", e.id),
            );
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(err) => Err(not_found(err)),
    }
}
