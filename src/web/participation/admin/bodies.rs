//! A body of participation: its settings, members, meetings list and documents (links and files).

use super::*;

// ---------------------------------------------------------------- a body

#[derive(Deserialize, Default, Clone)]
pub struct MemberForm {
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) organisation: String,
    #[serde(default)]
    pub(super) role: String,
    #[serde(default)]
    pub(super) inhabitant: Option<String>,
    #[serde(default)]
    pub(super) email: String,
    #[serde(default)]
    pub(super) mandate_start: String,
    #[serde(default)]
    pub(super) mandate_end: String,
    /// E-mail of an existing account that opens the group's space.
    #[serde(default)]
    pub(super) account: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct MeetingForm {
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) date: String,
    #[serde(default)]
    pub(super) time: String,
    #[serde(default)]
    pub(super) place: String,
    #[serde(default)]
    pub(super) online_link: String,
    #[serde(default)]
    pub(super) agenda: String,
    #[serde(default)]
    pub(super) minutes: String,
    #[serde(default)]
    pub(super) public: Option<String>,
    #[serde(default)]
    pub(super) version: String,
}

impl MeetingForm {
    pub(super) fn parse(&self) -> Result<MeetingInput, Vec<(&'static str, String)>> {
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
    pub(super) fn of(m: &store::Meeting) -> MeetingForm {
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
    pub(super) title: String,
    #[serde(default)]
    pub(super) url: String,
}

pub struct MemberRow {
    pub m: store::Member,
    pub current: bool,
    pub mandate: String,
}

#[derive(Template)]
#[template(path = "participation/admin_body.html")]
pub(super) struct BodyEditPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) csrf: String,
    pub(super) b: Body,
    pub(super) kinds: Vec<(&'static str, &'static str)>,
    pub(super) form: BodyForm,
    pub(super) members: Vec<MemberRow>,
    pub(super) member_form: MemberForm,
    pub(super) meetings: Vec<(i64, String, String)>,
    pub(super) meeting_form: MeetingForm,
    pub(super) documents: Vec<store::Document>,
    pub(super) document_form: DocumentForm,
    pub(super) errors: FormErrors,
    pub(super) conflict: Option<BodyForm>,
}

#[derive(Default)]
pub(super) struct BodyForms {
    pub(super) form: Option<BodyForm>,
    pub(super) member: MemberForm,
    pub(super) meeting: MeetingForm,
    pub(super) document: DocumentForm,
    pub(super) conflict: Option<BodyForm>,
}

pub(super) async fn body_page(
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

pub(super) async fn load_body(
    st: &AppState,
    tc: &TerritoryCtx,
    id: &str,
) -> Result<Body, AppError> {
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

pub(super) fn member_field(k: &str) -> &'static str {
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
    pub(super) document: String,
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

pub(super) fn meeting_field(k: &str) -> &'static str {
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
