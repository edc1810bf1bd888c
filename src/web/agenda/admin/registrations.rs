//! A session's registrations: by phone, attendance, CSV/XLSX export.

use super::*;

// ---------------------------------------------------------------- registrations

#[derive(Template)]
#[template(path = "agenda/registrations.html")]
pub(super) struct RegistrationsPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) csrf: String,
    pub(super) session: SessionView,
    pub(super) rows: Vec<Registration>,
    pub(super) form: PhoneForm,
    pub(super) errors: FormErrors,
    pub(super) message: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct PhoneForm {
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) phone: String,
    #[serde(default)]
    pub(super) email: String,
    #[serde(default)]
    pub(super) party_size: String,
    #[serde(default)]
    pub(super) consent: Option<String>,
}

pub(crate) async fn session_of(
    st: &AppState,
    tc: &TerritoryCtx,
    id: &str,
) -> Result<(Event, store::Session), AppError> {
    let id = id_of(id)?;
    let s = store::get_session(&st.db, id).await.map_err(not_found)?;
    let e = store::get_event(&st.db, tc.territory.id, s.event_id)
        .await
        .map_err(not_found)?;
    Ok((e, s))
}

/// May this account read the registrations (names, e-mails, phones) of
/// event `e`? The territory's coordinators and admins; a partner only when
/// the event's organiser is an organisation of the territory whose contact
/// person the partner's account is (names compared without case or
/// accents). Regional staff never reach here (`Access::Personal`).
pub(crate) async fn reads_registrations(
    st: &AppState,
    tc: &TerritoryCtx,
    e: &Event,
) -> Result<bool, AppError> {
    if tc.is_coordinator() {
        return Ok(true);
    }
    if tc.role != Some(crate::domain::roles::Role::Partner) || e.organiser.trim().is_empty() {
        return Ok(false);
    }
    let fold = |s: &str| crate::domain::text::fold_accents(s.trim());
    let organiser = fold(&e.organiser);
    Ok(crate::storage::partners::organisation_names_of_user(
        &st.db,
        tc.territory.id,
        tc.user.user.id,
    )
    .await?
    .iter()
    .any(|name| fold(name) == organiser))
}

/// The session and its event, when this account may read its registrations.
pub(super) async fn registrations_of(
    st: &AppState,
    tc: &TerritoryCtx,
    id: &str,
) -> Result<(Event, store::Session), AppError> {
    let (e, s) = session_of(st, tc, id).await?;
    if !reads_registrations(st, tc, &e).await? {
        return Err(AppError::Forbidden);
    }
    Ok((e, s))
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn registrations_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    e: &Event,
    s: &store::Session,
    form: PhoneForm,
    errors: FormErrors,
    message: String,
) -> Result<RegistrationsPage, AppError> {
    let places = places_map(st, tc.territory.id).await?;
    let s = store::get_session(&st.db, s.id).await?;
    Ok(RegistrationsPage {
        l: ctx.admin_layout("Inscriptions"),
        slug: tc.territory.slug.clone(),
        csrf: ctx.csrf(),
        session: session_view(e, &s, &places),
        rows: store::registrations(&st.db, s.id).await?,
        form: PhoneForm {
            party_size: if form.party_size.is_empty() {
                "1".into()
            } else {
                form.party_size.clone()
            },
            ..form
        },
        errors,
        message,
    })
}

pub async fn registrations(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (e, s) = registrations_of(&st, &tc, &id).await?;
    Ok(render(
        &registrations_page(
            &st,
            &ctx,
            &tc,
            &e,
            &s,
            PhoneForm::default(),
            FormErrors::default(),
            String::new(),
        )
        .await?,
    ))
}

pub async fn phone_register(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<PhoneForm>,
) -> Result<Response, AppError> {
    let (e, s) = registrations_of(&st, &tc, &id).await?;
    let mut errors = FormErrors::default();
    match NewRegistration::parse(
        &f.name,
        &f.email,
        &f.phone,
        &f.party_size,
        f.consent.is_some(),
    ) {
        Ok(r) => match store::register(&st.db, s.id, &r, None, &tc.user.user.email).await {
            Ok((reg, token)) => {
                if let Some(tok) = &token {
                    super::super::notify::registration(
                        &st,
                        &tc.territory.slug,
                        &e.title,
                        s.starts_at,
                        &reg,
                        tok,
                    );
                }
                // Not a redirect: the list is shown at once with the person's
                // status, and an empty form for the next call.
                let msg = format!(
                    "{} : inscription {}.",
                    reg.name,
                    reg.status().label().to_lowercase()
                );
                let page =
                    registrations_page(&st, &ctx, &tc, &e, &s, PhoneForm::default(), errors, msg)
                        .await?;
                return Ok(render(&page));
            }
            Err(RegisterError::Db(err)) => return Err(err.into()),
            Err(other) => errors.push("name", other.to_string()),
        },
        Err(list) => {
            for (k, m) in list {
                errors.push(k, m);
            }
        }
    }
    let page = registrations_page(&st, &ctx, &tc, &e, &s, f, errors, String::new()).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

#[derive(Deserialize, Default)]
pub struct AttendanceForm {
    #[serde(default)]
    pub(super) attended: String,
}

pub async fn attendance(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    Form(f): Form<AttendanceForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let t = &tc.territory;
    // The registration must belong to a session of this territory.
    let session_id: Option<i64> = crate::db_run!(&st.db, pool => sqlx::query_as::<_, (i64,)>(
        "SELECT r.session_id FROM registrations r JOIN event_sessions s ON s.id = r.session_id \
         JOIN events e ON e.id = s.event_id WHERE r.id = $1 AND e.territory_id = $2",
    )
    .bind(id)
    .bind(t.id)
    .fetch_optional(pool)
    .await
    .map_err(DbError::from)?)
    .map(|r| r.0);
    let Some(session_id) = session_id else {
        return Err(AppError::NotFound);
    };
    registrations_of(&st, &tc, &session_id.to_string()).await?;
    match store::mark_attendance(&st.db, &tc.user.actor(), t.id, id, f.attended == "oui").await {
        Ok(()) | Err(DbError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!(
        "/admin/t/{}/seances/{}/inscriptions",
        t.slug, session_id
    ))
    .into_response())
}

pub(super) fn export_rows(rows: &[Registration]) -> Vec<[String; 8]> {
    rows.iter()
        .map(|r| {
            [
                r.name.clone(),
                r.email.clone().unwrap_or_default(),
                r.phone_display().unwrap_or_default(),
                r.party_size.to_string(),
                r.status().label().to_owned(),
                match r.attended {
                    Some(true) => "présent".into(),
                    Some(false) => "absent".into(),
                    None => String::new(),
                },
                r.registered_by.clone(),
                dates::paris_datetime(r.created_at),
            ]
        })
        .collect()
}

pub(super) const EXPORT_HEADER: [&str; 8] = [
    "Nom",
    "E-mail",
    "Téléphone",
    "Personnes",
    "Statut",
    "Présence",
    "Inscrit par",
    "Date d’inscription",
];

pub async fn export_csv(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (_, s) = registrations_of(&st, &tc, &id).await?;
    let rows = store::registrations(&st.db, s.id).await?;
    let mut w = crate::csv_export::CsvExport::new(b';');
    let io = |e: csv::Error| AppError::Internal(anyhow::anyhow!(e));
    w.row(EXPORT_HEADER).map_err(io)?;
    for r in export_rows(&rows) {
        w.row(&r).map_err(io)?;
    }
    let body = w.finish().map_err(io)?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"inscriptions-{}.csv\"", s.id),
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
    let (e, s) = registrations_of(&st, &tc, &id).await?;
    let rows = store::registrations(&st.db, s.id).await?;
    let x = |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!(e.to_string()));
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Inscriptions").map_err(x)?;
    let title: String = e.title.chars().take(32_767).collect();
    sheet.write_string(0, 0, title).map_err(x)?;
    sheet
        .write_string(1, 0, dates::paris_datetime(s.starts_at))
        .map_err(x)?;
    for (c, h) in EXPORT_HEADER.iter().enumerate() {
        sheet.write_string(3, c as u16, *h).map_err(x)?;
    }
    for (i, r) in export_rows(&rows).iter().enumerate() {
        for (c, v) in r.iter().enumerate() {
            if c == 3 {
                sheet
                    .write_number(4 + i as u32, c as u16, v.parse::<f64>().unwrap_or(0.0))
                    .map_err(x)?;
            } else {
                // A cell holds at most 32,767 characters: rows stored before
                // the bounds existed must not make the export fail.
                let v: String = v.chars().take(32_767).collect();
                sheet.write_string(4 + i as u32, c as u16, v).map_err(x)?;
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
                format!("attachment; filename=\"inscriptions-{}.xlsx\"", s.id),
            ),
        ],
        body,
    )
        .into_response())
}
