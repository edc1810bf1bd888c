//! A meeting: its settings, attendance, invitations and decisions.

use super::*;

// ---------------------------------------------------------------- a meeting

#[derive(Deserialize, Default, Clone)]
pub struct DecisionForm {
    #[serde(default)]
    pub(super) text: String,
    #[serde(default)]
    pub(super) follow_up: String,
    #[serde(default)]
    pub(super) owner: String,
    #[serde(default)]
    pub(super) due_on: String,
    #[serde(default)]
    pub(super) action_code: String,
}

#[derive(Template)]
#[template(path = "participation/admin_meeting.html")]
pub(super) struct MeetingPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) csrf: String,
    pub(super) m: store::Meeting,
    pub(super) body: Body,
    pub(super) form: MeetingForm,
    pub(super) conflict: Option<MeetingForm>,
    pub(super) attendance: Vec<AttendanceRow>,
    pub(super) decisions: Vec<store::Decision>,
    pub(super) decision_form: DecisionForm,
    pub(super) errors: FormErrors,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn meeting_page(
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

pub(super) async fn attendance_rows(
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

pub(super) async fn load_meeting(
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
    let values = super::super::public::form_values(&body);
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
            tc.territory.id,
            "meeting-invitation",
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
