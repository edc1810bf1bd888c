//! Events and their sessions.

use super::*;

// ---------------------------------------------------------------- events

#[derive(Deserialize, Default, Clone)]
pub struct EventForm {
    #[serde(default)]
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) organiser: String,
    #[serde(default)]
    pub(crate) themes: String,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) linked_actions: String,
    #[serde(default)]
    pub(crate) programme_to_come: Option<String>,
    /// The fiche action carried out (an id, or empty).
    #[serde(default)]
    pub(crate) action_id: String,
    #[serde(default)]
    pub(crate) version: String,
}

impl EventForm {
    pub(crate) fn of(e: &Event) -> EventForm {
        EventForm {
            title: e.title.clone(),
            kind: e.kind.clone(),
            status: e.status.clone(),
            organiser: e.organiser.clone(),
            themes: e.themes.clone(),
            description: e.description.clone(),
            linked_actions: e.linked_actions.clone(),
            programme_to_come: e.programme_to_come.then(|| "oui".into()),
            action_id: e.action_id.map(|a| a.to_string()).unwrap_or_default(),
            version: e.version.to_string(),
        }
    }
    /// The event typed; `actions`: the fiche actions it may carry out (none
    /// for a regional event).
    pub(crate) fn parse(&self, actions: &[ActionChoice]) -> Result<EventInput, FormErrors> {
        let mut errors = FormErrors::default();
        if self.title.trim().is_empty() {
            errors.push("title", "Indiquez un titre.");
        }
        for (field, value, label, max) in [
            ("title", &self.title, "Titre", 200),
            ("organiser", &self.organiser, "Organisateur", 200),
            ("themes", &self.themes, "Thèmes", 1_000),
            ("description", &self.description, "Description", 20_000),
            ("linked_actions", &self.linked_actions, "Actions liées", 500),
        ] {
            if let Err(e) = bounded(value, label, false, max) {
                errors.push(field, e.0);
            }
        }
        if EventKind::parse(&self.kind).is_none() {
            errors.push("kind", "Choisissez le type d’événement.");
        }
        if EventStatus::parse(&self.status).is_none() {
            errors.push("status", "Choisissez le statut.");
        }
        let action_id = super::super::parse_action_choice(&self.action_id, actions, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(EventInput {
            title: self.title.trim().to_owned(),
            kind: self.kind.clone(),
            status: self.status.clone(),
            organiser: self.organiser.trim().to_owned(),
            themes: self
                .themes
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
            description: self.description.trim().to_owned(),
            linked_actions: self.linked_actions.trim().to_owned(),
            programme_to_come: self.programme_to_come.is_some(),
            action_id,
        })
    }
}

/// A session as typed, when it is added (here) and when it is edited
/// (`manage.rs`): one form, one set of rules.
#[derive(Deserialize, Default, Clone)]
pub struct SessionForm {
    #[serde(default)]
    pub(crate) date: String,
    #[serde(default)]
    pub(crate) start: String,
    #[serde(default)]
    pub(crate) end: String,
    #[serde(default)]
    pub(crate) place_id: String,
    #[serde(default)]
    pub(crate) capacity: String,
    #[serde(default)]
    pub(crate) audience: String,
    #[serde(default)]
    pub(crate) audience_roles: String,
}

impl SessionForm {
    /// The session, or what is wrong with it (date, times, seats, place,
    /// audience): the same rules when it is added and when it is edited.
    pub(crate) fn parse(&self, places: &[Place]) -> Result<SessionInput, FormErrors> {
        let mut errors = FormErrors::default();
        let date = dates::parse_input_date(&self.date);
        if date.is_none() {
            errors.push("date", "Date illisible (JJ/MM/AAAA).");
        }
        let (start, end) = (parse_time(&self.start), parse_time(&self.end));
        if start.is_none() || end.is_none() {
            errors.push("start", "Heures de début et de fin illisibles (HH:MM).");
        }
        let capacity = super::super::parse_capacity(&self.capacity, &mut errors);
        let place_id = super::super::parse_place_choice(&self.place_id, places, &mut errors);
        if Audience::parse(&self.audience).is_none() {
            errors.push("audience", "Choisissez le public.");
        }
        if let (Some(d), Some(a), Some(b), true) = (date, start, end, errors.is_empty()) {
            let (starts_at, ends_at) = (paris_instant(d, a), paris_instant(d, b));
            if ends_at <= starts_at {
                errors.push("start", "La fin doit être après le début.");
            } else {
                return Ok(SessionInput {
                    starts_at,
                    ends_at,
                    place_id,
                    capacity,
                    audience: self.audience.clone(),
                    audience_roles: self.audience_roles.trim().to_owned(),
                });
            }
        }
        Err(errors)
    }
}

#[derive(Template)]
#[template(path = "agenda/event_form.html")]
pub(super) struct EventPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) csrf: String,
    pub(super) id: Option<i64>,
    pub(super) form: EventForm,
    pub(super) errors: FormErrors,
    pub(super) kinds: Vec<(&'static str, &'static str)>,
    pub(super) statuses: Vec<(&'static str, &'static str)>,
    pub(super) audiences: Vec<(&'static str, &'static str)>,
    pub(super) places: Vec<Place>,
    pub(super) sessions: Vec<SessionView>,
    pub(super) session_form: SessionForm,
    pub(super) session_errors: FormErrors,
    /// After a stale save: the stored version.
    pub(super) stored: Option<EventForm>,
    pub(super) action_groups: Vec<super::super::ActionGroup>,
    pub(super) action_hint: &'static str,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn event_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    id: Option<i64>,
    form: EventForm,
    errors: FormErrors,
    session_form: SessionForm,
    session_errors: FormErrors,
) -> Result<EventPage, AppError> {
    let t = &tc.territory;
    let places = places_map(st, t.id).await?;
    let sessions = match id {
        Some(id) => {
            let e = store::get_event(&st.db, t.id, id)
                .await
                .map_err(not_found)?;
            store::sessions(&st.db, id)
                .await?
                .iter()
                .map(|s| session_view(&e, s, &places))
                .collect()
        }
        None => Vec::new(),
    };
    Ok(EventPage {
        l: ctx.admin_layout(if id.is_some() {
            "Modifier l’événement"
        } else {
            "Nouvel événement"
        }),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        id,
        form,
        errors,
        kinds: EventKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        statuses: EventStatus::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        audiences: Audience::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        places: places.into_values().collect(),
        sessions,
        session_form: SessionForm {
            audience: if session_form.audience.is_empty() {
                "public".into()
            } else {
                session_form.audience.clone()
            },
            ..session_form
        },
        session_errors,
        stored: None,
        action_groups: super::super::action_groups(&store::action_choices(&st.db, t.id).await?),
        action_hint: "cet événement",
    })
}

pub async fn event_new(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let form = EventForm {
        kind: "workshop".into(),
        status: "confirmed".into(),
        ..Default::default()
    };
    Ok(render(
        &event_page(
            &st,
            &ctx,
            &tc,
            None,
            form,
            FormErrors::default(),
            SessionForm::default(),
            FormErrors::default(),
        )
        .await?,
    ))
}

pub async fn event_create(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(form): Form<EventForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let actions = store::action_choices(&st.db, t.id).await?;
    form::submit(
        form,
        |f| f.parse(&actions),
        async |input| Ok(store::create_event(&st.db, &tc.user.actor(), t.id, &input).await?),
        form::UNVERSIONED,
        |e| {
            let to = format!("/admin/t/{}/evenements/{}", t.slug, e.id);
            flash::see_other(&to, "Événement créé.")
        },
        async |again| {
            let (s, s_errors) = (SessionForm::default(), FormErrors::default());
            let page =
                event_page(&st, &ctx, &tc, None, again.typed, again.errors, s, s_errors).await?;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

pub async fn event_edit(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let e = store::get_event(&st.db, tc.territory.id, id)
        .await
        .map_err(not_found)?;
    Ok(render(
        &event_page(
            &st,
            &ctx,
            &tc,
            Some(id),
            EventForm::of(&e),
            FormErrors::default(),
            SessionForm::default(),
            FormErrors::default(),
        )
        .await?,
    ))
}

pub async fn event_update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(form): Form<EventForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let t = &tc.territory;
    store::get_event(&st.db, t.id, id)
        .await
        .map_err(not_found)?;
    let version = form::version(&form.version);
    let actions = store::action_choices(&st.db, t.id).await?;
    form::submit(
        form,
        |f| f.parse(&actions),
        async |input| {
            let actor = tc.user.actor();
            Ok(store::update_event(&st.db, &actor, t.id, id, version, &input).await?)
        },
        ("title", "Quelqu’un a modifié cet événement pendant que vous le modifiiez : la version enregistrée est résumée ci-dessous, votre saisie est conservée dans le formulaire. Enregistrez à nouveau pour garder la vôtre."),
        |_| {
            let to = format!("/admin/t/{}/evenements/{id}", t.slug);
            flash::see_other(&to, "Événement enregistré.")
        },
        async |again| {
            let mut typed = again.typed;
            // After a stale save: the stored version beside what was typed,
            // and the next save starts from it.
            let stored = if again.stale {
                let e = store::get_event(&st.db, t.id, id).await.map_err(not_found)?;
                typed.version = e.version.to_string();
                Some(EventForm::of(&e))
            } else {
                None
            };
            let (s, s_errors) = (SessionForm::default(), FormErrors::default());
            let mut page =
                event_page(&st, &ctx, &tc, Some(id), typed, again.errors, s, s_errors).await?;
            page.stored = stored;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

pub(crate) fn paris_instant(d: NaiveDate, t: NaiveTime) -> chrono::DateTime<Utc> {
    Paris
        .from_local_datetime(&d.and_time(t))
        .earliest()
        .map(|x| x.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&d.and_time(t)))
}

pub async fn session_add(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<SessionForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let t = &tc.territory;
    let e = store::get_event(&st.db, t.id, id)
        .await
        .map_err(not_found)?;
    let places = store::list_places(&st.db, t.id).await?;
    form::submit(
        f,
        |f| f.parse(&places),
        async |input| Ok(store::add_session(&st.db, &tc.user.actor(), t.id, id, &input).await?),
        form::UNVERSIONED,
        |_| {
            let to = format!("/admin/t/{}/evenements/{id}", t.slug);
            flash::see_other(&to, "Séance ajoutée.")
        },
        async |again| {
            let (ef, e_errors) = (EventForm::of(&e), FormErrors::default());
            let page = event_page(
                &st,
                &ctx,
                &tc,
                Some(id),
                ef,
                e_errors,
                again.typed,
                again.errors,
            )
            .await?;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

/// Cancel a session: registrations are closed; people already registered
/// stay listed (and can be called from the list).
pub async fn session_cancel(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let (e, s) = session_of(&st, &tc, &id).await?;
    let already = s.cancelled;
    store::cancel_session(&st.db, &tc.user.actor(), tc.territory.id, s.id).await?;
    if !already {
        super::super::notify::session_cancelled(
            &st,
            &tc.territory.slug,
            &e.title,
            s.starts_at,
            s.id,
        )
        .await;
    }
    Ok(Redirect::to(&format!(
        "/admin/t/{}/evenements/{}",
        tc.territory.slug, e.id
    ))
    .into_response())
}
