//! Back office of participation (coordinators): bodies, members, join
//! requests, meetings (attendance, decisions), documents; questionnaires
//! (builder, invitations, results, exports); idea moderation; contact
//! messages.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::public::{paris_date_label, result_views, ResultsPage};
use super::{commune_choices, path_id, spawn_mail};
use crate::domain::dates;
use crate::domain::participation::{
    body_kind_label, idea_kind_label, profile_label, BodyInput, BodyKind, IdeaStatus, MeetingInput,
    MemberInput, Question, QuestionInput, QuestionKind,
};
use crate::storage::participation::{
    self as store, Body, Consultation, ConsultationInput, DecisionInput, JoinError, Moderation,
    QuestionError,
};
use crate::storage::users;
use crate::web::access::TerritoryCtx;
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::AppState;
use crate::web::{flash, form};

mod bodies;
mod consultations;
mod meetings;
pub use bodies::*;
pub use consultations::*;
pub use meetings::*;

fn see_other(to: String) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to)]).into_response()
}

fn push_all(errors: &mut FormErrors, list: Vec<(&'static str, String)>) {
    for (f, m) in list {
        errors.push(f, m);
    }
}

// ---------------------------------------------------------------- home

#[derive(Deserialize, Default, Clone)]
pub struct BodyForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    theme: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    open: Option<String>,
    #[serde(default)]
    version: String,
}

impl BodyForm {
    fn parse(&self) -> Result<BodyInput, Vec<(&'static str, String)>> {
        BodyInput::parse(
            &self.kind,
            &self.name,
            &self.theme,
            &self.purpose,
            &self.capacity,
            self.open.is_some(),
        )
    }
    fn of(b: &Body) -> BodyForm {
        BodyForm {
            kind: b.kind.clone(),
            name: b.name.clone(),
            theme: b.theme.clone(),
            purpose: b.purpose.clone(),
            capacity: b.capacity.map(|c| c.to_string()).unwrap_or_default(),
            open: b.open.then(|| "oui".into()),
            version: b.version.to_string(),
        }
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct ConsultationForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    intro: String,
    #[serde(default)]
    opens_on: String,
    #[serde(default)]
    closes_on: String,
    #[serde(default)]
    panel_only: Option<String>,
    #[serde(default)]
    results_published: Option<String>,
    #[serde(default)]
    version: String,
}

impl ConsultationForm {
    fn parse(&self) -> Result<ConsultationInput, Vec<(&'static str, String)>> {
        let mut e = Vec::new();
        let title = crate::domain::text::bounded(&self.title, "Titre", true, 200)
            .map_err(|x| e.push(("title", x.0)))
            .unwrap_or_default();
        let intro = crate::domain::text::bounded(&self.intro, "Présentation", false, 10_000)
            .map_err(|x| e.push(("intro", x.0)))
            .unwrap_or_default();
        let d = crate::domain::dates::parse_form_date;
        let opens = d(&self.opens_on);
        if opens.is_none() {
            e.push((
                "opens_on",
                "Date d’ouverture illisible (AAAA-MM-JJ).".to_owned(),
            ));
        }
        let closes = d(&self.closes_on);
        if closes.is_none() {
            e.push((
                "closes_on",
                "Date de clôture illisible (AAAA-MM-JJ).".to_owned(),
            ));
        }
        if let (Some(o), Some(c)) = (opens, closes) {
            if c < o {
                e.push(("closes_on", "La clôture est avant l’ouverture.".to_owned()));
            }
        }
        match (opens, closes) {
            (Some(opens_on), Some(closes_on)) if e.is_empty() => Ok(ConsultationInput {
                title,
                intro,
                opens_on,
                closes_on,
                panel_only: self.panel_only.is_some(),
                results_published: self.results_published.is_some(),
            }),
            _ => Err(e),
        }
    }
    fn of(c: &Consultation) -> ConsultationForm {
        ConsultationForm {
            title: c.title.clone(),
            intro: c.intro.clone(),
            opens_on: c.opens_on.clone(),
            closes_on: c.closes_on.clone(),
            panel_only: c.panel_only.then(|| "oui".into()),
            results_published: c.results_published.then(|| "oui".into()),
            version: c.version.to_string(),
        }
    }
}

pub struct RequestView {
    pub id: i64,
    pub body: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub organisation: String,
    pub profile: &'static str,
    pub message: String,
    pub status: String,
    pub date: String,
}

pub struct IdeaAdminView {
    pub i: store::Idea,
    pub kind_label: &'static str,
    pub status_label: &'static str,
    pub date: String,
}

#[derive(Template)]
#[template(path = "participation/admin_home.html")]
struct HomePage {
    l: Layout,
    slug: String,
    csrf: String,
    bodies: Vec<Body>,
    requests: Vec<RequestView>,
    consultations: Vec<Consultation>,
    ideas: Vec<IdeaAdminView>,
    messages: Vec<store::ContactMessage>,
    kinds: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    body_form: BodyForm,
    consultation_form: ConsultationForm,
    errors: FormErrors,
}

impl HomePage {
    fn kind_label(&self, k: &str) -> &'static str {
        body_kind_label(k)
    }
}

async fn home_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    body_form: BodyForm,
    consultation_form: ConsultationForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let bodies = store::list_bodies(&st.db, t.id).await?;
    let names: std::collections::HashMap<i64, String> =
        bodies.iter().map(|b| (b.id, b.name.clone())).collect();
    let requests = store::join_requests(&st.db, t.id, false)
        .await?
        .into_iter()
        .map(|r| RequestView {
            id: r.id,
            body: names.get(&r.body_id).cloned().unwrap_or_default(),
            name: r.name,
            email: r.email,
            phone: r.phone,
            organisation: r.organisation,
            profile: profile_label(&r.profile),
            message: r.message,
            status: match r.status.as_str() {
                "pending" => "En attente".into(),
                "accepted" => "Acceptée".into(),
                _ => format!(
                    "Refusée{}",
                    if r.reason.is_empty() {
                        String::new()
                    } else {
                        format!(" : {}", r.reason)
                    }
                ),
            },
            date: dates::paris_date(r.created_at),
        })
        .collect();
    let ideas = store::list_ideas(&st.db, t.id, false)
        .await?
        .into_iter()
        .map(|i| IdeaAdminView {
            kind_label: idea_kind_label(&i.kind),
            status_label: IdeaStatus::parse(&i.status)
                .map(|s| s.label())
                .unwrap_or(""),
            date: dates::paris_date(i.created_at),
            i,
        })
        .collect();
    let consultation_form = if consultation_form.opens_on.is_empty() && errors.is_empty() {
        let today = store::today();
        ConsultationForm {
            opens_on: today.clone(),
            closes_on: today,
            ..consultation_form
        }
    } else {
        consultation_form
    };
    let page = HomePage {
        l: ctx.admin_layout("Participation et gouvernance"),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        bodies,
        requests,
        consultations: store::list_consultations(&st.db, t.id).await?,
        ideas,
        messages: store::contact_messages(&st.db, t.id).await?,
        kinds: BodyKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        statuses: IdeaStatus::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        body_form,
        consultation_form,
        errors,
    };
    Ok((status, render(&page)).into_response())
}

pub async fn home(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    ctx: Ctx,
) -> Result<Response, AppError> {
    home_page(
        &st,
        &ctx,
        &tc,
        BodyForm {
            open: Some("oui".into()),
            kind: "working_group".into(),
            ..Default::default()
        },
        ConsultationForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn body_create(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<BodyForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    form::submit(
        f,
        |f| f.parse().map_err(FormErrors),
        async |input| Ok(store::create_body(&st.db, &tc.user.actor(), t.id, &input).await?),
        form::UNVERSIONED,
        |b| {
            st.cache.clear();
            let to = format!("/admin/t/{}/instances/{}", t.slug, b.id);
            flash::see_other(&to, "Instance créée.")
        },
        async |again| {
            let (f, c) = (again.typed, ConsultationForm::default());
            home_page(&st, &ctx, &tc, f, c, again.errors, again.status).await
        },
    )
    .await
}

pub async fn consultation_create(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<ConsultationForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    form::submit(
        f,
        |f| f.parse().map_err(FormErrors),
        async |input| Ok(store::create_consultation(&st.db, &tc.user.actor(), t.id, &input).await?),
        form::UNVERSIONED,
        |c| {
            st.cache.clear();
            let to = format!("/admin/t/{}/consultations/{}", t.slug, c.id);
            flash::see_other(&to, "Consultation créée.")
        },
        async |again| {
            let (b, c) = (BodyForm::default(), again.typed);
            home_page(&st, &ctx, &tc, b, c, again.errors, again.status).await
        },
    )
    .await
}

// ---------------------------------------------------------------- join requests

#[derive(Deserialize, Default)]
pub struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

pub async fn request_decide(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let id = path_id(&id)?;
    let accept = match f.decision.as_str() {
        "accept" => true,
        "decline" => false,
        _ => {
            return Err(AppError::BadRequest(
                "Choisissez d’accepter ou de refuser la demande.".into(),
            ))
        }
    };
    let reason = crate::domain::text::bounded(&f.reason, "Motif", false, 1000)
        .map_err(|e| AppError::BadRequest(e.0))?;
    let jr = match store::decide_join_request(&st.db, &tc.user.actor(), t.id, id, accept, &reason)
        .await
    {
        Ok(jr) => jr,
        Err(JoinError::Db(e)) => return Err(e.into()),
        Err(e) => return Err(AppError::Conflict(e.to_string())),
    };
    st.cache.clear();
    let body = store::get_body(&st.db, t.id, jr.body_id).await?;
    let text = if accept {
        format!(
            "Bonjour {},\n\nBonne nouvelle : votre demande pour rejoindre « {} » est acceptée. La coordination vous communiquera la date de la prochaine réunion.\n\n{}/t/{}/groupes/{}\n",
            jr.name, body.name, st.config.public_url.trim_end_matches('/'), t.slug, body.id
        )
    } else {
        format!(
            "Bonjour {},\n\nVotre demande pour rejoindre « {} » n’a pas pu être acceptée.{}\n\nMerci de votre intérêt ; d’autres façons de participer : {}/t/{}/participer\n",
            jr.name,
            body.name,
            if reason.is_empty() { String::new() } else { format!("\nMotif : {reason}") },
            st.config.public_url.trim_end_matches('/'),
            t.slug
        )
    };
    spawn_mail(
        &st,
        t.id,
        "join-answer",
        jr.email.clone(),
        if accept {
            format!("Bienvenue dans « {} »", body.name)
        } else {
            format!("Votre demande pour « {} »", body.name)
        },
        text,
    );
    Ok(see_other(format!(
        "/admin/t/{}/participation#demandes",
        t.slug
    )))
}

pub async fn request_delete(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    store::delete_join_request(&st.db, &tc.user.actor(), tc.territory.id, path_id(&id)?).await?;
    Ok(see_other(format!(
        "/admin/t/{}/participation#demandes",
        tc.territory.slug
    )))
}

// ---------------------------------------------------------------- ideas, messages

#[derive(Deserialize, Default)]
pub struct ModerationForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    merged_into: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    action_code: String,
    #[serde(default)]
    version: String,
}

pub async fn idea_moderate(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<ModerationForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let idea = store::get_idea(&st.db, t.id, path_id(&id)?).await?;
    // What needs the database is looked up first; `parse` then checks it all.
    let merged_known = match f.merged_into.trim().parse::<i64>() {
        Ok(n) => n != idea.id && store::get_idea(&st.db, t.id, n).await.is_ok(),
        Err(_) => false,
    };
    let action = match f.action_code.trim() {
        "" => Ok(None),
        code => store::action_id_by_code(&st.db, t.id, code)
            .await?
            .map(Some)
            .ok_or_else(|| {
                format!("Aucune fiche action « {code} » dans le contrat du territoire.")
            }),
    };
    let version = form::version(&f.version);
    let stale = format!("Idée n° {} : quelqu’un l’a modérée entre-temps ; voici son état actuel, recommencez si besoin.", idea.id);
    form::submit(
        f,
        |f| {
            let mut errors = FormErrors::default();
            // Every message names the idea; the summary links to the moderation list.
            let field = "idees";
            let status = IdeaStatus::parse(&f.status);
            if status.is_none() {
                errors.push(field, "Choisissez un statut.");
            }
            let reason = crate::domain::text::bounded(&f.reason, "Motif", false, 1000)
                .map_err(|e| errors.push(field, e.0))
                .unwrap_or_default();
            if status == Some(IdeaStatus::Declined) && reason.is_empty() {
                errors.push(
                    field,
                    format!("Idée n° {} : indiquez le motif du refus.", idea.id),
                );
            }
            let merged_into = match f.merged_into.trim() {
                "" => None,
                s => match s.parse::<i64>() {
                    Ok(n) if merged_known => Some(n),
                    _ => {
                        errors.push(
                            field,
                            format!("Idée n° {} : regroupement avec une idée inconnue.", idea.id),
                        );
                        None
                    }
                },
            };
            if status == Some(IdeaStatus::Merged) && merged_into.is_none() && errors.is_empty() {
                errors.push(
                    field,
                    format!(
                        "Idée n° {} : indiquez le numéro de l’idée avec laquelle la regrouper.",
                        idea.id
                    ),
                );
            }
            let answer = crate::domain::text::bounded(&f.answer, "Réponse publique", false, 5000)
                .map_err(|e| errors.push(field, e.0))
                .unwrap_or_default();
            let action_id = action.map_err(|m| errors.push(field, m)).unwrap_or(None);
            if !errors.is_empty() {
                return Err(errors);
            }
            Ok(Moderation {
                status: status.unwrap_or(IdeaStatus::Pending),
                reason,
                merged_into,
                answer,
                action_id,
            })
        },
        async |m| {
            Ok(store::moderate_idea(&st.db, &tc.user.actor(), t.id, idea.id, version, &m).await?)
        },
        ("idees", &stale),
        |_| {
            st.cache.clear();
            let to = format!("/admin/t/{}/participation#idees", t.slug);
            flash::see_other(&to, "Idée modérée.")
        },
        async |again| {
            // The moderation list shows each idea as stored.
            let (b, c) = (BodyForm::default(), ConsultationForm::default());
            home_page(&st, &ctx, &tc, b, c, again.errors, again.status).await
        },
    )
    .await
}

pub async fn idea_delete(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    store::delete_idea(&st.db, &tc.user.actor(), tc.territory.id, path_id(&id)?).await?;
    st.cache.clear();
    Ok(see_other(format!(
        "/admin/t/{}/participation#idees",
        tc.territory.slug
    )))
}

pub async fn message_delete(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    store::delete_contact_message(&st.db, &tc.user.actor(), tc.territory.id, path_id(&id)?).await?;
    Ok(see_other(format!(
        "/admin/t/{}/participation#messages",
        tc.territory.slug
    )))
}
