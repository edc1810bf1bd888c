//! Drop-in series: the form (pattern, RRULE, a place created inline), its dates and their exceptions.

use super::*;

// ---------------------------------------------------------------- series

pub const WEEKDAYS: [(&str, &str); 7] = [
    ("MO", "lundi"),
    ("TU", "mardi"),
    ("WE", "mercredi"),
    ("TH", "jeudi"),
    ("FR", "vendredi"),
    ("SA", "samedi"),
    ("SU", "dimanche"),
];
pub const NTHS: [(&str, &str); 5] = [
    ("1", "premier"),
    ("2", "deuxième"),
    ("3", "troisième"),
    ("4", "quatrième"),
    ("-1", "dernier"),
];

#[derive(Deserialize, Default, Clone)]
pub struct SeriesForm {
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) mediators: String,
    #[serde(default)]
    pub(super) place_id: String,
    #[serde(default)]
    pub(super) first_date: String,
    #[serde(default)]
    pub(super) end_date: String,
    #[serde(default)]
    pub(super) start_time: String,
    #[serde(default)]
    pub(super) end_time: String,
    /// `weekly`, `biweekly`, `monthly` or `custom`.
    #[serde(default)]
    pub(super) pattern: String,
    #[serde(default)]
    pub(super) weekday: String,
    #[serde(default)]
    pub(super) nth: String,
    #[serde(default)]
    pub(super) rrule: String,
    #[serde(default)]
    pub(super) skip_holidays: Option<String>,
    #[serde(default)]
    pub(super) access: String,
    #[serde(default)]
    pub(super) services: String,
    /// The fiche action carried out (an id, or empty).
    #[serde(default)]
    pub(super) action_id: String,
    #[serde(default)]
    pub(super) version: String,
    /// A place created from the series form, without leaving it.
    #[serde(default)]
    pub(super) new_place_name: String,
    #[serde(default)]
    pub(super) new_place_address: String,
    #[serde(default)]
    pub(super) new_place_insee: String,
    #[serde(default)]
    pub(super) new_place_access: String,
    /// `place`: create the place typed and come back to the form (nothing
    /// else is saved); empty: save the series.
    #[serde(default)]
    pub(super) action: String,
}

impl SeriesForm {
    pub(super) fn of(s: &Series) -> SeriesForm {
        let (pattern, weekday, nth) = match Pattern::from_rrule(&s.rrule) {
            Some(Pattern::Weekly(w)) => ("weekly", weekday_code(w), "1".to_owned()),
            Some(Pattern::Biweekly(w)) => ("biweekly", weekday_code(w), "1".to_owned()),
            Some(Pattern::MonthlyNth(n, w)) => ("monthly", weekday_code(w), n.to_string()),
            None => ("custom", "MO", "1".to_owned()),
        };
        SeriesForm {
            title: s.title.clone(),
            mediators: s.mediators.clone(),
            place_id: s.place_id.to_string(),
            first_date: s.first_date.clone(),
            end_date: s.end_date.clone().unwrap_or_default(),
            start_time: s.start_time.clone(),
            end_time: s.end_time.clone(),
            pattern: pattern.into(),
            weekday: weekday.into(),
            nth,
            rrule: s.rrule.clone(),
            skip_holidays: s.skip_holidays.then(|| "oui".into()),
            access: s.access.clone(),
            services: s.services.clone(),
            action_id: s.action_id.map(|a| a.to_string()).unwrap_or_default(),
            version: s.version.to_string(),
            ..Default::default()
        }
    }

    /// The pattern the form describes (`None`: a typed RRULE). The weekday
    /// left on « jour de la première permanence » is taken from the first
    /// date.
    pub(super) fn pattern(
        &self,
        first: Option<NaiveDate>,
    ) -> Result<Option<Pattern>, &'static str> {
        let wd = || match self.weekday.trim() {
            "" => first.map(|d| d.weekday()).ok_or(
                "Indiquez la date de la première permanence : le jour de la semaine en est tiré.",
            ),
            code => weekday_from_code(code).ok_or("Choisissez le jour de la semaine."),
        };
        Ok(Some(match self.pattern.as_str() {
            "weekly" => Pattern::Weekly(wd()?),
            "biweekly" => Pattern::Biweekly(wd()?),
            "monthly" => {
                let n: i8 = self
                    .nth
                    .parse()
                    .map_err(|_| "Choisissez la semaine du mois.")?;
                if !(n == -1 || (1..=4).contains(&n)) {
                    return Err("Choisissez la semaine du mois.");
                }
                Pattern::MonthlyNth(n, wd()?)
            }
            "custom" => return Ok(None),
            _ => return Err("Choisissez une récurrence."),
        }))
    }

    pub(super) fn parse(
        &self,
        places: &[Place],
        actions: &[ActionChoice],
    ) -> (Option<SeriesInput>, FormErrors, (String, String)) {
        let mut errors = FormErrors::default();
        let title = self.title.trim();
        if title.is_empty() {
            errors.push(
                "title",
                "Indiquez un titre (par exemple : Permanence santé de Lens).",
            );
        }
        for (field, value, label, max) in [
            ("title", &self.title, "Titre", 200),
            ("mediators", &self.mediators, "Médiateurs", 1_000),
            ("services", &self.services, "Services proposés", 2_000),
        ] {
            if let Err(e) = bounded(value, label, false, max) {
                errors.push(field, e.0);
            }
        }
        let place_id = self
            .place_id
            .parse::<i64>()
            .ok()
            .filter(|id| places.iter().any(|p| p.id == *id));
        if place_id.is_none() {
            errors.push(
                "place_id",
                "Choisissez un lieu, ou créez-le ci-dessous (« Nouveau lieu »).",
            );
        }
        let first = dates::parse_input_date(&self.first_date);
        if first.is_none() {
            errors.push(
                "first_date",
                "Date de la première permanence illisible (JJ/MM/AAAA).",
            );
        }
        let end = if self.end_date.trim().is_empty() {
            Ok(None)
        } else {
            dates::parse_input_date(&self.end_date).map(Some).ok_or(())
        };
        if end.is_err() {
            errors.push("end_date", "Date de fin illisible (JJ/MM/AAAA).");
        }
        let st = parse_time(&self.start_time);
        if st.is_none() {
            errors.push("start_time", "Heure de début illisible (HH:MM).");
        }
        let et = parse_time(&self.end_time);
        if et.is_none() {
            errors.push("end_time", "Heure de fin illisible (HH:MM).");
        }
        let rule = match self.pattern(first) {
            Ok(Some(p)) => {
                // The first date must be a day the pattern gives.
                if let Some(f) = first {
                    if let Err(e) = recurrence::check_first_date(p, f) {
                        errors.push("weekday", e.0);
                    }
                }
                p.to_rrule()
            }
            Ok(None) => self.rrule.trim().to_owned(),
            Err(m) => {
                if first.is_some() {
                    errors.push("pattern", m);
                }
                String::new()
            }
        };
        let action_id = super::super::parse_action_choice(&self.action_id, actions, &mut errors);
        let access = if Walk::parse(&self.access).is_some() {
            self.access.clone()
        } else {
            "walk_in".into()
        };
        let mut shown_rule = (rule.clone(), String::new());
        let input = match (first, end, st, et, place_id, errors.is_empty()) {
            (Some(first), Ok(end), Some(st), Some(et), Some(place_id), true) => {
                let input = SeriesInput {
                    title: title.to_owned(),
                    mediators: self.mediators.trim().to_owned(),
                    place_id,
                    first_date: first,
                    end_date: end,
                    start_time: st,
                    end_time: et,
                    rrule: rule,
                    skip_holidays: self.skip_holidays.is_some(),
                    access,
                    services: self.services.trim().to_owned(),
                    action_id,
                };
                match input.schedule() {
                    Ok(s) => {
                        shown_rule = rule_shown(&s);
                        Some(input)
                    }
                    Err(e) => {
                        let field = if e.0.contains("heure") {
                            "end_time"
                        } else {
                            "pattern"
                        };
                        errors.push(field, e.0);
                        None
                    }
                }
            }
            _ => None,
        };
        (input, errors, shown_rule)
    }
}

/// The rule as stored (RFC 5545, for « Avancé ») and in words: « un mardi
/// sur deux, de 14 h à 16 h, du 01/12/2026 au 30/06/2027 ».
pub(super) fn rule_shown(s: &recurrence::Schedule) -> (String, String) {
    (
        s.effective_rule.clone(),
        format!("{}, {}", describe(s), recurrence::describe_period(s)),
    )
}

pub struct OccLine {
    /// `YYYY-MM-DD` of the date the rule gives (form value).
    pub date: String,
    pub label: String,
    pub status: String,
    pub note: String,
    /// A public holiday the series skips (« férié : pas de permanence »).
    pub holiday: bool,
    /// A public holiday held anyway.
    pub held: bool,
    pub(super) sort: chrono::NaiveDateTime,
}

/// « 11/11/2026 (mercredi), 14 h ».
pub(super) fn occ_label(d: NaiveDate, t: NaiveTime) -> String {
    format!(
        "{} ({}), {}",
        dates::short_date(d),
        dates::weekday_name(d),
        recurrence::short_time(t)
    )
}

#[derive(Template)]
#[template(path = "agenda/series_form.html")]
pub(super) struct SeriesPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) csrf: String,
    pub(super) id: Option<i64>,
    pub(super) form: SeriesForm,
    pub(super) errors: FormErrors,
    pub(super) places: Vec<Place>,
    pub(super) communes: Vec<crate::storage::communes::Commune>,
    pub(super) weekdays: Vec<(&'static str, &'static str)>,
    pub(super) nths: Vec<(&'static str, &'static str)>,
    /// The effective RRULE (shown under « Avancé »).
    pub(super) rule: String,
    /// The rule in words.
    pub(super) rule_words: String,
    /// After a stale save: the stored version (and its rule in words).
    pub(super) stored: Option<(SeriesForm, String)>,
    pub(super) occurrences: Vec<OccLine>,
    pub(super) exc_errors: FormErrors,
    /// Said once after an inline place was created.
    pub(super) notice: String,
    pub(super) action_groups: Vec<super::super::ActionGroup>,
    pub(super) action_hint: &'static str,
    /// « Dernière fréquentation saisie : … » (an existing series).
    pub(super) last_attendance: String,
    /// Online slots of an existing series: (settings in words, no-show rate).
    pub(super) slots_line: Option<(String, String)>,
    /// The coordination sets the slots and the mediators.
    pub(super) coordinates: bool,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn series_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    id: Option<i64>,
    form: SeriesForm,
    errors: FormErrors,
    rule: (String, String),
    exc_errors: FormErrors,
) -> Result<SeriesPage, AppError> {
    let t = &tc.territory;
    let mut occurrences = Vec::new();
    let mut last_attendance = String::new();
    let mut slots_line = None;
    if let Some(id) = id {
        slots_line = Some(super::slots::slots_summary(st, t.id, id).await?);
        last_attendance = match store::latest_attendance(&st.db, t.id, id).await? {
            Some(a) => format!(
                "{} le {}",
                super::attendance::people(a.received),
                a.held_on()
                    .map(dates::long_date_with_weekday)
                    .unwrap_or_default()
            ),
            None => "aucune".into(),
        };
        let s = store::get_series(&st.db, t.id, id)
            .await
            .map_err(not_found)?;
        if let Ok(schedule) = s.schedule() {
            let exc: Vec<Exception> = store::exceptions(&st.db, t.id)
                .await?
                .into_iter()
                .filter(|(sid, _)| *sid == id)
                .map(|(_, e)| e)
                .collect();
            // The whole series (at most MAX_OCCURRENCES), moved dates included.
            let (from, to) = (
                schedule.first_date() - chrono::Duration::days(366),
                schedule.last_date() + chrono::Duration::days(366),
            );
            let held: Vec<NaiveDate> = exc
                .iter()
                .filter(|e| e.kind == recurrence::ExceptionKind::Held)
                .map(|e| e.original_date)
                .collect();
            for o in recurrence::expand(&schedule, &exc, from, to) {
                let is_held = held.contains(&o.original_date);
                occurrences.push(OccLine {
                    date: o.original_date.to_string(),
                    label: occ_label(o.date, o.start.time()),
                    status: match o.status {
                        OccurrenceStatus::Scheduled if is_held => {
                            "férié, permanence maintenue".into()
                        }
                        OccurrenceStatus::Scheduled => String::new(),
                        OccurrenceStatus::Cancelled => "annulée".into(),
                        OccurrenceStatus::Moved => {
                            format!(
                                "déplacée (prévue le {})",
                                dates::short_date(o.original_date)
                            )
                        }
                    },
                    note: o.note,
                    holiday: false,
                    held: is_held,
                    sort: o.start,
                });
            }
            // Skipped public holidays are listed among the dates, with the
            // choice to hold the session anyway.
            for d in schedule.holiday_dates() {
                if held.contains(&d) {
                    continue;
                }
                occurrences.push(OccLine {
                    date: d.to_string(),
                    label: dates::short_date(d),
                    status: format!(
                        "férié ({}) : pas de permanence",
                        crate::domain::agenda::holidays::holiday_name(d).unwrap_or("jour férié")
                    ),
                    note: String::new(),
                    holiday: true,
                    held: false,
                    sort: d.and_time(schedule.start_time),
                });
            }
            occurrences.sort_by_key(|o| o.sort);
        }
    }
    Ok(SeriesPage {
        l: ctx.admin_layout(if id.is_some() {
            "Modifier la permanence"
        } else {
            "Nouvelle permanence"
        }),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        id,
        form,
        errors,
        places: store::list_places(&st.db, t.id).await?,
        communes: territories::communes(&st.db, t.id).await?,
        weekdays: WEEKDAYS.to_vec(),
        nths: NTHS.to_vec(),
        rule: rule.0,
        rule_words: rule.1,
        stored: None,
        occurrences,
        exc_errors,
        notice: String::new(),
        action_groups: super::super::action_groups(&store::action_choices(&st.db, t.id).await?),
        action_hint: "cette permanence",
        last_attendance,
        slots_line,
        coordinates: tc.is_coordinator(),
    })
}

pub async fn series_new(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let form = SeriesForm {
        pattern: "biweekly".into(),
        // Taken from the first date unless another day is chosen.
        weekday: String::new(),
        nth: "1".into(),
        start_time: "14:00".into(),
        end_time: "16:00".into(),
        skip_holidays: Some("oui".into()),
        access: "walk_in".into(),
        ..Default::default()
    };
    Ok(render(
        &series_page(
            &st,
            &ctx,
            &tc,
            None,
            form,
            FormErrors::default(),
            Default::default(),
            FormErrors::default(),
        )
        .await?,
    ))
}

/// Create the place typed in the series form. `Ok(None)` when nothing was
/// typed there; `Err` with the errors to show (the series is not saved).
pub(super) async fn inline_place(
    st: &AppState,
    tc: &TerritoryCtx,
    form: &mut SeriesForm,
) -> Result<Result<Option<Place>, FormErrors>, AppError> {
    // « Créer ce lieu » is the form's first button, so Enter in any field
    // sends `action=place`: with no place typed, it is a plain save.
    if form.new_place_name.trim().is_empty() {
        return Ok(Ok(None));
    }
    let t = &tc.territory;
    let mut errors = FormErrors::default();
    let communes = territories::communes(&st.db, t.id).await?;
    if !communes
        .iter()
        .any(|c| c.insee_code == form.new_place_insee)
    {
        errors.push(
            "new_place_insee",
            "Choisissez la commune du nouveau lieu (une commune du territoire).",
        );
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let place = store::create_place(
        &st.db,
        &tc.user.actor(),
        t.id,
        &NewPlace {
            name: form.new_place_name.trim().to_owned(),
            address: form.new_place_address.trim().to_owned(),
            insee_code: form.new_place_insee.clone(),
            access_notes: form.new_place_access.trim().to_owned(),
            phone: String::new(),
        },
    )
    .await?;
    form.place_id = place.id.to_string();
    form.new_place_name.clear();
    form.new_place_address.clear();
    form.new_place_insee.clear();
    form.new_place_access.clear();
    Ok(Ok(Some(place)))
}

/// Handle the « Nouveau lieu » part of the series form: `Some(response)`
/// when the page must be shown again (place created on its own, or refused).
pub(super) async fn place_step(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    id: Option<i64>,
    form: &mut SeriesForm,
) -> Result<(Option<Response>, String), AppError> {
    let only_place = form.action == "place";
    match inline_place(st, tc, form).await? {
        Ok(None) => Ok((None, String::new())),
        Ok(Some(place)) => {
            let notice = format!(
                "Lieu « {} » créé et choisi pour cette permanence.",
                place.name
            );
            if !only_place {
                return Ok((None, notice));
            }
            let mut page = series_page(
                st,
                ctx,
                tc,
                id,
                form.clone(),
                FormErrors::default(),
                Default::default(),
                FormErrors::default(),
            )
            .await?;
            page.notice = notice;
            Ok((Some(render(&page)), String::new()))
        }
        Err(errors) => {
            let page = series_page(
                st,
                ctx,
                tc,
                id,
                form.clone(),
                errors,
                Default::default(),
                FormErrors::default(),
            )
            .await?;
            Ok((
                Some((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()),
                String::new(),
            ))
        }
    }
}

pub async fn series_create(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(mut form): Form<SeriesForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let (shown, notice) = place_step(&st, &ctx, &tc, None, &mut form).await?;
    if let Some(r) = shown {
        return Ok(r);
    }
    let places = store::list_places(&st.db, t.id).await?;
    let actions = store::action_choices(&st.db, t.id).await?;
    // Parsed ahead: the rule in words is shown with the form either way.
    let (input, errors, rule) = form.parse(&places, &actions);
    form::submit(
        form,
        |_| input.ok_or(errors),
        async |input| Ok(store::create_series(&st.db, &tc.user.actor(), t.id, &input).await?),
        form::UNVERSIONED,
        |s| {
            let to = format!("/admin/t/{}/permanences/{}", t.slug, s.id);
            flash::see_other(&to, "Permanence créée.")
        },
        async |again| {
            let no_exc = FormErrors::default();
            let mut page = series_page(
                &st,
                &ctx,
                &tc,
                None,
                again.typed,
                again.errors,
                rule,
                no_exc,
            )
            .await?;
            page.notice = notice;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

pub async fn series_edit(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let s = store::get_series(&st.db, tc.territory.id, id)
        .await
        .map_err(not_found)?;
    let rule = s.schedule().map(|s| rule_shown(&s)).unwrap_or_default();
    Ok(render(
        &series_page(
            &st,
            &ctx,
            &tc,
            Some(id),
            SeriesForm::of(&s),
            FormErrors::default(),
            rule,
            FormErrors::default(),
        )
        .await?,
    ))
}

pub async fn series_update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(mut form): Form<SeriesForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let t = &tc.territory;
    store::get_series(&st.db, t.id, id)
        .await
        .map_err(not_found)?;
    let (shown, notice) = place_step(&st, &ctx, &tc, Some(id), &mut form).await?;
    if let Some(r) = shown {
        return Ok(r);
    }
    let places = store::list_places(&st.db, t.id).await?;
    let actions = store::action_choices(&st.db, t.id).await?;
    // Parsed ahead: the rule in words is shown with the form either way.
    let (input, errors, rule) = form.parse(&places, &actions);
    let version = form::version(&form.version);
    form::submit(
        form,
        |_| input.ok_or(errors),
        async |input| {
            let actor = tc.user.actor();
            Ok(store::update_series(&st.db, &actor, t.id, id, version, &input).await?)
        },
        ("title", "Quelqu’un a modifié cette permanence pendant que vous la modifiiez : la version enregistrée est résumée ci-dessous, votre saisie est conservée dans le formulaire. Enregistrez à nouveau pour garder la vôtre."),
        |_| {
            let to = format!("/admin/t/{}/permanences/{id}", t.slug);
            flash::see_other(&to, "Permanence enregistrée.")
        },
        async |again| {
            let mut typed = again.typed;
            // After a stale save: the stored version beside what was typed,
            // and the next save starts from it.
            let stored = if again.stale {
                let s = store::get_series(&st.db, t.id, id).await.map_err(not_found)?;
                typed.version = s.version.to_string();
                let words = s.schedule().map(|s| rule_shown(&s).1).unwrap_or_default();
                Some((SeriesForm::of(&s), words))
            } else {
                None
            };
            let no_exc = FormErrors::default();
            let mut page =
                series_page(&st, &ctx, &tc, Some(id), typed, again.errors, rule, no_exc).await?;
            page.stored = stored;
            page.notice = notice;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

#[derive(Deserialize, Default)]
pub struct ExceptionForm {
    #[serde(default)]
    pub(super) original_date: String,
    /// `cancel`, `move` or `restore`.
    #[serde(default)]
    pub(super) action: String,
    #[serde(default)]
    pub(super) note: String,
    #[serde(default)]
    pub(super) new_date: String,
    #[serde(default)]
    pub(super) new_start: String,
    #[serde(default)]
    pub(super) new_end: String,
    #[serde(default)]
    pub(super) new_place_id: String,
}

pub async fn exception_save(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<ExceptionForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let t = &tc.territory;
    let s = store::get_series(&st.db, t.id, id)
        .await
        .map_err(not_found)?;
    form::submit(
        f,
        ExceptionForm::parse,
        async |change| {
            let actor = tc.user.actor();
            let saved = match change {
                Ok(e) => store::set_exception_with_bookings(&st.db, &actor, t.id, id, &e).await,
                Err(original) => {
                    store::remove_exception_with_bookings(&st.db, &actor, t.id, id, original).await
                }
            };
            // The people whose booking moved or was cancelled are told.
            if let Ok(changed) = &saved {
                if !changed.is_empty() {
                    let places = store::list_places(&st.db, t.id).await.unwrap_or_default();
                    super::super::notify::slots_changed(
                        &st, &t.slug, &s.title, &places, s.place_id, changed,
                    );
                }
            }
            let saved = saved.map(|_| ());
            match saved {
                Err(DbError::Conflict(_)) => {
                    let mut errors = FormErrors::default();
                    errors.push(
                        "original_date",
                        "Cette date ne fait pas partie de la série (ou le lieu est inconnu).",
                    );
                    Err(form::Failed::Refused(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        errors,
                    ))
                }
                other => Ok(other?),
            }
        },
        form::UNVERSIONED,
        |()| {
            let to = format!("/admin/t/{}/permanences/{id}", t.slug);
            flash::see_other(&to, "Date de permanence enregistrée.")
        },
        async |again| {
            // The dates are listed as stored; the messages go by the dates.
            let rule = s.schedule().map(|s| rule_shown(&s)).unwrap_or_default();
            let (form, errors) = (SeriesForm::of(&s), FormErrors::default());
            let page =
                series_page(&st, &ctx, &tc, Some(id), form, errors, rule, again.errors).await?;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

impl ExceptionForm {
    /// The exception to store, or `Err(date)` to restore that date as the
    /// rule gives it.
    fn parse(&self) -> Result<Result<Exception, NaiveDate>, FormErrors> {
        let mut errors = FormErrors::default();
        let Some(original) = parse_date(&self.original_date) else {
            errors.push("original_date", "Choisissez la permanence concernée.");
            return Err(errors);
        };
        let f = self;
        match f.action.as_str() {
            "cancel" => Ok(Ok(Exception::cancelled(original, &f.note))),
            "restore" => Ok(Err(original)),
            "hold" => Ok(Ok(Exception::held(original, &f.note))),
            "move" => {
                let date = if f.new_date.trim().is_empty() {
                    Some(original)
                } else {
                    dates::parse_input_date(&f.new_date)
                };
                let (ns, ne) = (parse_time(&f.new_start), parse_time(&f.new_end));
                let place = f.new_place_id.parse::<i64>().ok();
                match (date, ns, ne) {
                    (Some(d), Some(a), Some(b)) => {
                        Exception::moved(original, d, a, b, place, &f.note)
                            .map(Ok)
                            .map_err(|e| {
                                errors.push("new_end", e.0);
                                errors
                            })
                    }
                    _ => {
                        errors.push("new_date", "Indiquez la nouvelle date (JJ/MM/AAAA) et les nouvelles heures (HH:MM).");
                        Err(errors)
                    }
                }
            }
            _ => {
                errors.push(
                    "action",
                    "Choisissez : annuler, déplacer, rétablir ou tenir malgré le jour férié.",
                );
                Err(errors)
            }
        }
    }
}
