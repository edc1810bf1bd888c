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

// ---------------------------------------------------------------- a body

#[derive(Deserialize, Default, Clone)]
pub struct MemberForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    inhabitant: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    mandate_start: String,
    #[serde(default)]
    mandate_end: String,
    /// E-mail of an existing account that opens the group's space.
    #[serde(default)]
    account: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct MeetingForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    online_link: String,
    #[serde(default)]
    agenda: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    public: Option<String>,
    #[serde(default)]
    version: String,
}

impl MeetingForm {
    fn parse(&self) -> Result<MeetingInput, Vec<(&'static str, String)>> {
        MeetingInput::parse(
            &self.title,
            &self.date,
            &self.time,
            &self.place,
            &self.online_link,
            &self.agenda,
            &self.minutes,
            self.public.is_some(),
        )
    }
    fn of(m: &store::Meeting) -> MeetingForm {
        let local = m.starts_at.with_timezone(&chrono_tz::Europe::Paris);
        MeetingForm {
            title: m.title.clone(),
            date: local.format("%Y-%m-%d").to_string(),
            time: local.format("%H:%M").to_string(),
            place: m.place.clone(),
            online_link: m.online_link.clone(),
            agenda: m.agenda.clone(),
            minutes: m.minutes.clone(),
            public: m.public.then(|| "oui".into()),
            version: m.version.to_string(),
        }
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct DocumentForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    url: String,
}

pub struct MemberRow {
    pub m: store::Member,
    pub current: bool,
    pub mandate: String,
}

#[derive(Template)]
#[template(path = "participation/admin_body.html")]
struct BodyEditPage {
    l: Layout,
    slug: String,
    csrf: String,
    b: Body,
    kinds: Vec<(&'static str, &'static str)>,
    form: BodyForm,
    members: Vec<MemberRow>,
    member_form: MemberForm,
    meetings: Vec<(i64, String, String)>,
    meeting_form: MeetingForm,
    documents: Vec<store::Document>,
    document_form: DocumentForm,
    errors: FormErrors,
    conflict: Option<BodyForm>,
}

#[derive(Default)]
struct BodyForms {
    form: Option<BodyForm>,
    member: MemberForm,
    meeting: MeetingForm,
    document: DocumentForm,
    conflict: Option<BodyForm>,
}

async fn body_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    b: Body,
    forms: BodyForms,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let today = store::today();
    let members = store::members(&st.db, b.id)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            current: m.current(&today),
            mandate: match (&m.mandate_start, &m.mandate_end) {
                (Some(s), Some(e)) => {
                    format!("du {} au {}", paris_date_label(s), paris_date_label(e))
                }
                (Some(s), None) => format!("depuis le {}", paris_date_label(s)),
                (None, Some(e)) => format!("jusqu’au {}", paris_date_label(e)),
                (None, None) => String::new(),
            },
            m,
        })
        .collect();
    let meetings = store::meetings(&st.db, b.id)
        .await?
        .into_iter()
        .map(|m| (m.id, m.title.clone(), dates::paris_datetime(m.starts_at)))
        .collect();
    let page = BodyEditPage {
        l: ctx.admin_layout(b.name.clone()),
        slug: tc.territory.slug.clone(),
        csrf: ctx.csrf(),
        kinds: BodyKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        form: forms.form.unwrap_or_else(|| BodyForm::of(&b)),
        members,
        member_form: forms.member,
        meetings,
        meeting_form: if forms.meeting.time.is_empty() {
            MeetingForm {
                time: "14:00".into(),
                ..forms.meeting
            }
        } else {
            forms.meeting
        },
        documents: store::documents(&st.db, b.id).await?,
        document_form: forms.document,
        errors,
        conflict: forms.conflict,
        b,
    };
    Ok((status, render(&page)).into_response())
}

async fn load_body(st: &AppState, tc: &TerritoryCtx, id: &str) -> Result<Body, AppError> {
    Ok(store::get_body(&st.db, tc.territory.id, path_id(id)?).await?)
}

pub async fn body_edit(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let b = load_body(&st, &tc, &id).await?;
    body_page(
        &st,
        &ctx,
        &tc,
        b,
        BodyForms::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn body_update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<BodyForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let b = load_body(&st, &tc, &id).await?;
    let (body_id, version) = (b.id, form::version(&f.version));
    form::submit(
        f,
        |f| f.parse().map_err(FormErrors),
        async |input| {
            Ok(store::update_body(&st.db, &tc.user.actor(), t.id, body_id, version, &input).await?)
        },
        ("name", "Quelqu’un a modifié cette instance entre-temps. Voici la version enregistrée ; votre saisie est affichée à côté : reportez vos changements puis enregistrez."),
        |b| {
            st.cache.clear();
            let to = format!("/admin/t/{}/instances/{}", t.slug, b.id);
            flash::see_other(&to, "Instance enregistrée.")
        },
        async |again| {
            // After a stale save: the stored version in the form, the typed one beside.
            let (b, forms) = if again.stale {
                let b = load_body(&st, &tc, &id).await?;
                let form = Some(BodyForm::of(&b));
                (b, BodyForms { form, conflict: Some(again.typed), ..Default::default() })
            } else {
                (b, BodyForms { form: Some(again.typed), ..Default::default() })
            };
            body_page(&st, &ctx, &tc, b, forms, again.errors, again.status).await
        },
    )
    .await
}

pub async fn member_add(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<MemberForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let b = load_body(&st, &tc, &id).await?;
    let body_id = b.id;
    let mut account = Ok(None);
    if !f.account.trim().is_empty() {
        account = match users::find_by_email(&st.db, &f.account.trim().to_lowercase()).await? {
            Some(u) => Ok(Some(u.id)),
            None => Err("Aucun compte n’a cette adresse : créez d’abord le compte (Comptes du territoire), ou laissez vide."),
        };
    }
    form::submit(
        f,
        |f| {
            let mut errors = FormErrors::default();
            if let Err(m) = account {
                errors.push("account", m);
            }
            let parsed = MemberInput::parse(
                &f.name,
                &f.organisation,
                &f.role,
                f.inhabitant.is_some(),
                &f.email,
                &f.mandate_start,
                &f.mandate_end,
            );
            match parsed {
                Ok(m) if errors.is_empty() => Ok((m, account.unwrap_or_default())),
                Ok(_) => Err(errors),
                Err(list) => {
                    push_all(&mut errors, list);
                    Err(errors)
                }
            }
        },
        async |(m, user_id)| {
            Ok(store::add_member(&st.db, &tc.user.actor(), t.id, body_id, &m, user_id).await?)
        },
        form::UNVERSIONED,
        |_| {
            st.cache.clear();
            let to = format!("/admin/t/{}/instances/{body_id}#membres", t.slug);
            flash::see_other(&to, "Membre ajouté.")
        },
        async |again| {
            // The member form's fields carry an `m_` prefix in the page.
            let errors = FormErrors(
                again
                    .errors
                    .0
                    .into_iter()
                    .map(|(k, v)| (member_field(k), v))
                    .collect(),
            );
            let forms = BodyForms {
                member: again.typed,
                ..Default::default()
            };
            body_page(&st, &ctx, &tc, b, forms, errors, again.status).await
        },
    )
    .await
}

fn member_field(k: &str) -> &'static str {
    match k {
        "name" => "m_name",
        "organisation" => "m_organisation",
        "role" => "m_role",
        "email" => "m_email",
        "mandate_start" => "m_mandate_start",
        "mandate_end" => "m_mandate_end",
        _ => "m_account",
    }
}

pub async fn member_end(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let body_id =
        store::end_mandate(&st.db, &tc.user.actor(), tc.territory.id, path_id(&id)?).await?;
    st.cache.clear();
    Ok(see_other(format!(
        "/admin/t/{}/instances/{body_id}#membres",
        tc.territory.slug
    )))
}

pub async fn document_add(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<DocumentForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let b = load_body(&st, &tc, &id).await?;
    let body_id = b.id;
    form::submit(
        f,
        |f| {
            let mut errors = FormErrors::default();
            let title = crate::domain::text::bounded(&f.title, "Titre du document", true, 200)
                .map_err(|e| errors.push("d_title", e.0))
                .unwrap_or_default();
            let url = f.url.trim().to_owned();
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 1000 {
                errors.push(
                    "d_url",
                    "Adresse du document : un lien complet commençant par https://",
                );
            }
            if errors.is_empty() {
                Ok((title, url))
            } else {
                Err(errors)
            }
        },
        async |(title, url)| {
            let actor = tc.user.actor();
            Ok(store::add_document(&st.db, &actor, t.id, body_id, &title, &url).await?)
        },
        form::UNVERSIONED,
        |_| {
            let to = format!("/admin/t/{}/instances/{body_id}#documents", t.slug);
            flash::see_other(&to, "Document ajouté.")
        },
        async |again| {
            let forms = BodyForms {
                document: again.typed,
                ..Default::default()
            };
            body_page(&st, &ctx, &tc, b, forms, again.errors, again.status).await
        },
    )
    .await
}

/// Upload a file (PDF, ODT, DOCX) to a body's members' space.
pub async fn file_add(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    form: axum::extract::Multipart,
) -> Result<Response, AppError> {
    use crate::web::contract::documents::{check, read_upload};
    let b = load_body(&st, &tc, &id).await?;
    let limit = st.config.document_limit;
    let up = read_upload(form, limit).await?;
    let kind = match check(&up, limit) {
        Ok(k) => k,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return body_page(&st, &ctx, &tc, b, BodyForms::default(), errors, status).await;
        }
    };
    store::add_file(
        &st.db,
        &st.config.document_store(),
        &tc.user.actor(),
        tc.territory.id,
        b.id,
        up.title.trim(),
        &crate::domain::document::safe_file_name(&up.file_name),
        kind,
        up.bytes,
    )
    .await?;
    Ok(see_other(format!(
        "/admin/t/{}/instances/{}#documents",
        tc.territory.slug, b.id
    )))
}

#[derive(Deserialize)]
pub struct DocumentId {
    #[serde(default)]
    document: String,
}

/// Remove a link or a file from a body's members' space.
pub async fn document_delete(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    Form(f): Form<DocumentId>,
) -> Result<Response, AppError> {
    let b = load_body(&st, &tc, &id).await?;
    store::delete_document(
        &st.db,
        &st.config.document_store(),
        &tc.user.actor(),
        tc.territory.id,
        b.id,
        path_id(f.document.trim())?,
    )
    .await?;
    Ok(see_other(format!(
        "/admin/t/{}/instances/{}#documents",
        tc.territory.slug, b.id
    )))
}

pub async fn meeting_create(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<MeetingForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let b = load_body(&st, &tc, &id).await?;
    let body_id = b.id;
    form::submit(
        f,
        |f| {
            f.parse().map_err(|list| {
                FormErrors(
                    list.into_iter()
                        .map(|(k, v)| (meeting_field(k), v))
                        .collect(),
                )
            })
        },
        async |m| Ok(store::create_meeting(&st.db, &tc.user.actor(), t.id, body_id, &m).await?),
        form::UNVERSIONED,
        |m| {
            st.cache.clear();
            let to = format!("/admin/t/{}/reunions/{}", t.slug, m.id);
            flash::see_other(&to, "Réunion créée.")
        },
        async |again| {
            let forms = BodyForms {
                meeting: again.typed,
                ..Default::default()
            };
            body_page(&st, &ctx, &tc, b, forms, again.errors, again.status).await
        },
    )
    .await
}

fn meeting_field(k: &str) -> &'static str {
    match k {
        "title" => "r_title",
        "date" => "r_date",
        "time" => "r_time",
        "place" => "r_place",
        "online_link" => "r_online_link",
        "agenda" => "r_agenda",
        _ => "r_minutes",
    }
}

// ---------------------------------------------------------------- a meeting

#[derive(Deserialize, Default, Clone)]
pub struct DecisionForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    follow_up: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    action_code: String,
}

#[derive(Template)]
#[template(path = "participation/admin_meeting.html")]
struct MeetingPage {
    l: Layout,
    slug: String,
    csrf: String,
    m: store::Meeting,
    body: Body,
    form: MeetingForm,
    conflict: Option<MeetingForm>,
    attendance: Vec<AttendanceRow>,
    decisions: Vec<store::Decision>,
    decision_form: DecisionForm,
    errors: FormErrors,
}

#[allow(clippy::too_many_arguments)]
async fn meeting_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    m: store::Meeting,
    form: Option<MeetingForm>,
    conflict: Option<MeetingForm>,
    decision_form: DecisionForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let body = store::get_body(&st.db, tc.territory.id, m.body_id).await?;
    let page = MeetingPage {
        l: ctx.admin_layout(m.title.clone()),
        slug: tc.territory.slug.clone(),
        csrf: ctx.csrf(),
        form: form.unwrap_or_else(|| MeetingForm::of(&m)),
        conflict,
        attendance: attendance_rows(st, &m).await?,
        decisions: store::decisions(&st.db, m.id).await?,
        decision_form,
        errors,
        body,
        m,
    };
    Ok((status, render(&page)).into_response())
}

/// Every current member of the body, with their invitation and presence.
pub struct AttendanceRow {
    pub member_id: i64,
    pub name: String,
    pub invited: bool,
    pub present: bool,
}

async fn attendance_rows(
    st: &AppState,
    m: &store::Meeting,
) -> Result<Vec<AttendanceRow>, AppError> {
    let today = store::today();
    let att = store::attendance(&st.db, m.id).await?;
    let mut rows: Vec<AttendanceRow> = store::members(&st.db, m.body_id)
        .await?
        .into_iter()
        .filter(|x| x.current(&today) || att.iter().any(|a| a.member_id == x.id))
        .map(|x| {
            let a = att.iter().find(|a| a.member_id == x.id);
            AttendanceRow {
                member_id: x.id,
                name: x.name,
                invited: a.is_some_and(|a| a.invited),
                present: a.is_some_and(|a| a.present),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

async fn load_meeting(
    st: &AppState,
    tc: &TerritoryCtx,
    id: &str,
) -> Result<store::Meeting, AppError> {
    Ok(store::get_meeting(&st.db, tc.territory.id, path_id(id)?).await?)
}

pub async fn meeting_edit(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let m = load_meeting(&st, &tc, &id).await?;
    meeting_page(
        &st,
        &ctx,
        &tc,
        m,
        None,
        None,
        DecisionForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn meeting_update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<MeetingForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let m = load_meeting(&st, &tc, &id).await?;
    let (meeting_id, version) = (m.id, form::version(&f.version));
    form::submit(
        f,
        |f| f.parse().map_err(FormErrors),
        async |input| {
            let actor = tc.user.actor();
            Ok(store::update_meeting(&st.db, &actor, t.id, meeting_id, version, &input).await?)
        },
        ("title", "Quelqu’un a modifié cette réunion entre-temps. Voici la version enregistrée ; votre saisie est affichée à côté."),
        |m| {
            st.cache.clear();
            let to = format!("/admin/t/{}/reunions/{}", t.slug, m.id);
            flash::see_other(&to, "Réunion enregistrée.")
        },
        async |again| {
            // After a stale save: the stored version in the form, the typed one beside.
            let (m, form, conflict) = if again.stale {
                (load_meeting(&st, &tc, &id).await?, None, Some(again.typed))
            } else {
                (m, Some(again.typed), None)
            };
            let d = DecisionForm::default();
            meeting_page(&st, &ctx, &tc, m, form, conflict, d, again.errors, again.status).await
        },
    )
    .await
}

pub async fn meeting_presence(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let m = load_meeting(&st, &tc, &id).await?;
    let values = super::public::form_values(&body);
    let ids = |name: &str| -> Vec<i64> {
        values
            .get(name)
            .map(|v| v.iter().filter_map(|s| s.parse().ok()).collect())
            .unwrap_or_default()
    };
    store::set_attendance(
        &st.db,
        &tc.user.actor(),
        tc.territory.id,
        m.id,
        &ids("invited"),
        &ids("present"),
    )
    .await?;
    Ok(see_other(format!(
        "/admin/t/{}/reunions/{}#presences",
        tc.territory.slug, m.id
    )))
}

/// E-mail the meeting's invitation to the invited members who left an
/// address; the audit trail keeps how many were sent.
pub async fn invitation_send(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let m = load_meeting(&st, &tc, &id).await?;
    let b = store::get_body(&st.db, tc.territory.id, m.body_id).await?;
    let recipients = store::invited_emails(&st.db, m.id).await?;
    let place = match (m.place.trim(), m.online_link.trim()) {
        ("", "") => String::new(),
        (p, "") => format!("Lieu : {p}\n"),
        ("", l) => format!("En ligne : {l}\n"),
        (p, l) => format!("Lieu : {p}\nOu en ligne : {l}\n"),
    };
    let agenda = if m.agenda.trim().is_empty() {
        String::new()
    } else {
        format!("\nOrdre du jour :\n{}\n", m.agenda.trim())
    };
    for (name, email) in &recipients {
        let text = format!(
            "Bonjour {name},\n\nVous êtes invité·e à la réunion « {} » de « {} ».\n\nQuand : {}\n{place}{agenda}\nLes comptes rendus et documents du groupe sont dans son espace : {}/t/{}/groupes/{}/espace\n",
            m.title,
            b.name,
            dates::paris_datetime(m.starts_at),
            st.config.public_url.trim_end_matches('/'),
            tc.territory.slug,
            b.id
        );
        spawn_mail(
            &st,
            email.clone(),
            format!("Invitation : {}", m.title),
            text,
        );
    }
    store::record_invitations_sent(
        &st.db,
        &tc.user.actor(),
        tc.territory.id,
        m.id,
        recipients.len(),
    )
    .await?;
    Ok(see_other(format!(
        "/admin/t/{}/reunions/{}#presences",
        tc.territory.slug, m.id
    )))
}

pub async fn decision_add(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let m = load_meeting(&st, &tc, &id).await?;
    let meeting_id = m.id;
    let action = match f.action_code.trim() {
        "" => Ok(None),
        code => store::action_id_by_code(&st.db, t.id, code)
            .await?
            .map(Some)
            .ok_or_else(|| {
                format!("Aucune fiche action « {code} » dans le contrat du territoire.")
            }),
    };
    form::submit(
        f,
        |f| {
            let mut errors = FormErrors::default();
            let text = crate::domain::text::bounded(&f.text, "Décision", true, 5000)
                .map_err(|e| errors.push("d_text", e.0))
                .unwrap_or_default();
            let follow_up =
                crate::domain::text::bounded(&f.follow_up, "Suite à donner", false, 2000)
                    .map_err(|e| errors.push("d_follow_up", e.0))
                    .unwrap_or_default();
            let owner = crate::domain::text::bounded(&f.owner, "Responsable", false, 200)
                .map_err(|e| errors.push("d_owner", e.0))
                .unwrap_or_default();
            let due_on = match f.due_on.trim() {
                "" => None,
                s => match crate::domain::dates::parse_form_date(s) {
                    Some(d) => Some(d),
                    None => {
                        errors.push("d_due_on", "Échéance illisible (AAAA-MM-JJ).");
                        None
                    }
                },
            };
            let action_id = action
                .map_err(|m| errors.push("d_action_code", m))
                .unwrap_or(None);
            if !errors.is_empty() {
                return Err(errors);
            }
            Ok(DecisionInput {
                text,
                follow_up,
                owner,
                due_on,
                action_id,
            })
        },
        async |input| {
            Ok(store::add_decision(&st.db, &tc.user.actor(), t.id, meeting_id, &input).await?)
        },
        form::UNVERSIONED,
        |_| {
            let to = format!("/admin/t/{}/reunions/{meeting_id}#decisions", t.slug);
            flash::see_other(&to, "Décision ajoutée.")
        },
        async |again| {
            let d = again.typed;
            meeting_page(&st, &ctx, &tc, m, None, None, d, again.errors, again.status).await
        },
    )
    .await
}

// ---------------------------------------------------------------- consultations

#[derive(Deserialize, Default, Clone)]
pub struct QuestionForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    help: String,
    #[serde(default)]
    required: Option<String>,
    #[serde(default)]
    options: String,
    #[serde(default)]
    scale_min: String,
    #[serde(default)]
    scale_max: String,
    /// `question_id:choice`, or empty.
    #[serde(default)]
    condition: String,
}

impl QuestionForm {
    fn parse(&self, earlier: &[Question]) -> Result<QuestionInput, Vec<(&'static str, String)>> {
        QuestionInput::parse(
            &self.kind,
            &self.label,
            &self.help,
            self.required.is_some(),
            &self.options,
            &self.scale_min,
            &self.scale_max,
            &self.condition,
            earlier,
        )
    }
}

pub struct QuestionRow {
    pub q: Question,
    pub number: usize,
    pub kind_label: &'static str,
    pub condition: String,
}

#[derive(Template)]
#[template(path = "participation/admin_consultation.html")]
struct ConsultationEditPage {
    l: Layout,
    slug: String,
    csrf: String,
    c: Consultation,
    form: ConsultationForm,
    conflict: Option<ConsultationForm>,
    questions: Vec<QuestionRow>,
    /// Choices a new question may depend on: (`qid:n`, label).
    conditions: Vec<(String, String)>,
    kinds: Vec<(&'static str, &'static str)>,
    question_form: QuestionForm,
    errors: FormErrors,
    tokens: Vec<String>,
    token_counts: (i64, i64),
    base: String,
}

#[allow(clippy::too_many_arguments)]
async fn consultation_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    c: Consultation,
    form: Option<ConsultationForm>,
    conflict: Option<ConsultationForm>,
    question_form: QuestionForm,
    tokens: Vec<String>,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let qs = store::questions(&st.db, c.id).await?;
    let numbers: std::collections::HashMap<i64, usize> =
        qs.iter().enumerate().map(|(i, q)| (q.id, i + 1)).collect();
    let mut conditions = Vec::new();
    for q in &qs {
        if q.kind().has_options() {
            for (i, o) in q.option_list().iter().enumerate() {
                conditions.push((
                    format!("{}:{}", q.id, i + 1),
                    format!("Question {} = « {} »", numbers[&q.id], o),
                ));
            }
        }
    }
    let questions = qs
        .iter()
        .enumerate()
        .map(|(i, q)| QuestionRow {
            number: i + 1,
            kind_label: q.kind().label(),
            condition: match (q.cond_question_id, q.cond_option) {
                (Some(cq), Some(co)) => {
                    let src = qs.iter().find(|x| x.id == cq);
                    format!(
                        "Affichée si question {} = « {} »",
                        numbers.get(&cq).copied().unwrap_or(0),
                        src.and_then(|s| s
                            .option_list()
                            .get((co - 1) as usize)
                            .map(|s| s.to_string()))
                            .unwrap_or_default()
                    )
                }
                _ => String::new(),
            },
            q: q.clone(),
        })
        .collect();
    let page = ConsultationEditPage {
        l: ctx.admin_layout(c.title.clone()),
        slug: tc.territory.slug.clone(),
        csrf: ctx.csrf(),
        form: form.unwrap_or_else(|| ConsultationForm::of(&c)),
        conflict,
        questions,
        conditions,
        kinds: QuestionKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        question_form,
        errors,
        tokens,
        token_counts: store::token_counts(&st.db, c.id).await?,
        base: st.config.public_url.trim_end_matches('/').to_owned(),
        c,
    };
    Ok((status, render(&page)).into_response())
}

async fn load_consultation(
    st: &AppState,
    tc: &TerritoryCtx,
    id: &str,
) -> Result<Consultation, AppError> {
    Ok(store::get_consultation(&st.db, tc.territory.id, path_id(id)?).await?)
}

pub async fn consultation_edit(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let c = load_consultation(&st, &tc, &id).await?;
    let qf = QuestionForm {
        kind: "single".into(),
        scale_min: "1".into(),
        scale_max: "5".into(),
        ..Default::default()
    };
    consultation_page(
        &st,
        &ctx,
        &tc,
        c,
        None,
        None,
        qf,
        Vec::new(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn consultation_update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<ConsultationForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let c = load_consultation(&st, &tc, &id).await?;
    let (cid, version) = (c.id, form::version(&f.version));
    form::submit(
        f,
        |f| f.parse().map_err(FormErrors),
        async |input| {
            let actor = tc.user.actor();
            Ok(store::update_consultation(&st.db, &actor, t.id, cid, version, &input).await?)
        },
        ("title", "Quelqu’un a modifié cette consultation entre-temps. Voici la version enregistrée ; votre saisie est affichée à côté."),
        |c| {
            st.cache.clear();
            let to = format!("/admin/t/{}/consultations/{}", t.slug, c.id);
            flash::see_other(&to, "Consultation enregistrée.")
        },
        async |again| {
            // After a stale save: the stored version in the form, the typed one beside.
            let (c, form, conflict) = if again.stale {
                (load_consultation(&st, &tc, &id).await?, None, Some(again.typed))
            } else {
                (c, Some(again.typed), None)
            };
            let (q, tokens) = (QuestionForm::default(), Vec::new());
            consultation_page(&st, &ctx, &tc, c, form, conflict, q, tokens, again.errors, again.status)
                .await
        },
    )
    .await
}

fn question_field(k: &str) -> &'static str {
    match k {
        "kind" => "q_kind",
        "label" => "q_label",
        "help" => "q_help",
        "options" => "q_options",
        "scale_min" => "q_scale_min",
        "condition" => "q_condition",
        _ => "q_label",
    }
}

pub async fn question_add(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<QuestionForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let c = load_consultation(&st, &tc, &id).await?;
    let cid = c.id;
    let earlier = store::questions(&st.db, c.id).await?;
    form::submit(
        f,
        |f| {
            f.parse(&earlier).map_err(|list| {
                FormErrors(
                    list.into_iter()
                        .map(|(k, v)| (question_field(k), v))
                        .collect(),
                )
            })
        },
        async |q| {
            store::add_question(&st.db, &tc.user.actor(), t.id, cid, &q)
                .await
                .map_err(|e| question_refused(e, "q_label"))
        },
        form::UNVERSIONED,
        |_| {
            st.cache.clear();
            let to = format!("/admin/t/{}/consultations/{cid}#questions", t.slug);
            flash::see_other(&to, "Question ajoutée.")
        },
        async |again| {
            let (q, tokens) = (again.typed, Vec::new());
            consultation_page(
                &st,
                &ctx,
                &tc,
                c,
                None,
                None,
                q,
                tokens,
                again.errors,
                again.status,
            )
            .await
        },
    )
    .await
}

/// A question change refused because answers exist: 409 with the message.
fn question_refused(e: QuestionError, field: &'static str) -> form::Failed {
    match e {
        QuestionError::HasAnswers => {
            let mut errors = FormErrors::default();
            errors.push(field, QuestionError::HasAnswers.to_string());
            form::Failed::Refused(StatusCode::CONFLICT, errors)
        }
        QuestionError::Db(e) => e.into(),
    }
}

pub async fn question_update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<QuestionForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let q = store::get_question(&st.db, t.id, path_id(&id)?).await?;
    let c = store::get_consultation(&st.db, t.id, q.consultation_id).await?;
    let cid = c.id;
    let all = store::questions(&st.db, c.id).await?;
    let earlier: Vec<Question> = all.iter().take_while(|x| x.id != q.id).cloned().collect();
    form::submit(
        f,
        |f| {
            f.parse(&earlier).map_err(|list| {
                let m = |v| ("questions", format!("Question {} : {v}", q.position));
                FormErrors(list.into_iter().map(|(_, v)| m(v)).collect())
            })
        },
        async |input| {
            store::update_question(&st.db, &tc.user.actor(), t.id, q.id, &input)
                .await
                .map_err(|e| question_refused(e, "questions"))
        },
        form::UNVERSIONED,
        |()| {
            st.cache.clear();
            let to = format!("/admin/t/{}/consultations/{cid}#questions", t.slug);
            flash::see_other(&to, "Question enregistrée.")
        },
        async |again| {
            // The questions are edited in place: the list shows the stored ones.
            let (qf, tokens) = (QuestionForm::default(), Vec::new());
            consultation_page(
                &st,
                &ctx,
                &tc,
                c,
                None,
                None,
                qf,
                tokens,
                again.errors,
                again.status,
            )
            .await
        },
    )
    .await
}

pub async fn question_delete(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let q = store::get_question(&st.db, tc.territory.id, path_id(&id)?).await?;
    let c = store::get_consultation(&st.db, tc.territory.id, q.consultation_id).await?;
    match store::delete_question(&st.db, &tc.user.actor(), tc.territory.id, q.id).await {
        Ok(()) => Ok(see_other(format!(
            "/admin/t/{}/consultations/{}#questions",
            tc.territory.slug, c.id
        ))),
        Err(QuestionError::HasAnswers) => {
            let mut errors = FormErrors::default();
            errors.push("questions", QuestionError::HasAnswers.to_string());
            consultation_page(
                &st,
                &ctx,
                &tc,
                c,
                None,
                None,
                QuestionForm::default(),
                Vec::new(),
                errors,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(QuestionError::Db(e)) => Err(e.into()),
    }
}

pub async fn consultation_duplicate(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let c = load_consultation(&st, &tc, &id).await?;
    let copy =
        store::duplicate_consultation(&st.db, &tc.user.actor(), tc.territory.id, c.id).await?;
    Ok(see_other(format!(
        "/admin/t/{}/consultations/{}",
        tc.territory.slug, copy.id
    )))
}

#[derive(Deserialize, Default)]
pub struct TokensForm {
    #[serde(default)]
    count: String,
}

pub async fn tokens_create(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<TokensForm>,
) -> Result<Response, AppError> {
    let c = load_consultation(&st, &tc, &id).await?;
    let n: usize = match f.count.trim().parse() {
        Ok(n) if (1..=500).contains(&n) => n,
        _ => {
            let mut errors = FormErrors::default();
            errors.push("count", "Nombre d’invitations : entre 1 et 500.");
            return consultation_page(
                &st,
                &ctx,
                &tc,
                c,
                None,
                None,
                QuestionForm::default(),
                Vec::new(),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let tokens = store::create_tokens(&st.db, &tc.user.actor(), tc.territory.id, c.id, n).await?;
    consultation_page(
        &st,
        &ctx,
        &tc,
        c,
        None,
        None,
        QuestionForm::default(),
        tokens,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn results(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let c = load_consultation(&st, &tc, &id).await?;
    let (responses, results) = result_views(&st, &tc.territory, &c, true).await?;
    Ok(render(&ResultsPage {
        l: ctx.admin_layout(format!("Résultats : {}", c.title)),
        slug: tc.territory.slug.clone(),
        c,
        responses,
        results,
        coordinator: true,
    }))
}

/// Header and rows of the raw answers: one row per response, one column per
/// question (choices by their label, several joined with « ; »).
async fn export_table(
    st: &AppState,
    tc: &TerritoryCtx,
    c: &Consultation,
) -> Result<(Vec<String>, Vec<Vec<String>>), AppError> {
    let qs = store::questions(&st.db, c.id).await?;
    let communes = commune_choices(st, &tc.territory).await?;
    let mut header = vec!["Réponse".to_owned(), "Date".to_owned()];
    header.extend(
        qs.iter()
            .enumerate()
            .map(|(i, q)| format!("Q{} {}", i + 1, q.label)),
    );
    let mut rows = Vec::new();
    for (n, (_, at, answers)) in store::all_responses(&st.db, c.id)
        .await?
        .into_iter()
        .enumerate()
    {
        let mut row = vec![(n + 1).to_string(), dates::paris_iso(at)];
        for q in &qs {
            let vals: Vec<String> = answers
                .iter()
                .filter(|(qid, _)| *qid == q.id)
                .map(|(_, v)| q.value_label(v, &communes))
                .collect();
            row.push(vals.join(" ; "));
        }
        rows.push(row);
    }
    Ok((header, rows))
}

pub async fn export_csv(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let c = load_consultation(&st, &tc, &id).await?;
    let (header, rows) = export_table(&st, &tc, &c).await?;
    let mut w = crate::csv_export::CsvExport::new(b',');
    let x = |e: csv::Error| AppError::Internal(anyhow::anyhow!(e.to_string()));
    w.row(&header).map_err(x)?;
    for r in &rows {
        w.row(r).map_err(x)?;
    }
    let body = w.finish().map_err(x)?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"consultation-{}.csv\"", c.id),
            ),
        ],
        body,
    )
        .into_response())
}

pub async fn export_xlsx(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let c = load_consultation(&st, &tc, &id).await?;
    let (header, rows) = export_table(&st, &tc, &c).await?;
    let x = |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!(e.to_string()));
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Réponses").map_err(x)?;
    for (col, h) in header.iter().enumerate() {
        sheet.write_string(0, col as u16, h).map_err(x)?;
    }
    for (i, r) in rows.iter().enumerate() {
        for (col, v) in r.iter().enumerate() {
            if col == 0 {
                sheet
                    .write_number(1 + i as u32, 0, v.parse::<f64>().unwrap_or(0.0))
                    .map_err(x)?;
            } else {
                sheet.write_string(1 + i as u32, col as u16, v).map_err(x)?;
            }
        }
    }
    let body = book.save_to_buffer().map_err(x)?;
    Ok((
        [
            (
                CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"consultation-{}.xlsx\"", c.id),
            ),
        ],
        body,
    )
        .into_response())
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
