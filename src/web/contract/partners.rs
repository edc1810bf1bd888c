//! The territory's partner directory in the back office: organisations and
//! people (contacts kept with a consent date), with the RGPD export and
//! erasure of a person's data.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::domain::partners::{OrganisationKind, OrganisationRaw, PersonRaw};
use crate::domain::roles::Role;
use crate::storage::partners::{self, Organisation, Person};
use crate::storage::DbError;
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::session::SignedIn;
use crate::web::AppState;
use crate::web::{flash, form};

pub fn routes(r: Routes) -> Routes {
    let coord = Access::Territory(Role::Coordinator);
    r.get("/admin/t/{territory}/partenaires", coord, list)
        .post("/admin/t/{territory}/partenaires", coord, create_org)
        .get(
            "/admin/t/{territory}/partenaires/structures/{id}",
            coord,
            edit_org,
        )
        .post(
            "/admin/t/{territory}/partenaires/structures/{id}",
            coord,
            save_org,
        )
        .post(
            "/admin/t/{territory}/partenaires/personnes",
            coord,
            create_person,
        )
        .get(
            "/admin/t/{territory}/partenaires/personnes/{id}",
            coord,
            edit_person,
        )
        .post(
            "/admin/t/{territory}/partenaires/personnes/{id}",
            coord,
            save_person,
        )
        .get(
            "/admin/t/{territory}/partenaires/personnes/{id}/export",
            Access::Personal(Role::Coordinator),
            export_person,
        )
        .post(
            "/admin/t/{territory}/partenaires/personnes/{id}/effacer",
            coord,
            delete_person,
        )
}

type Choices = Vec<(String, String)>;

fn kinds() -> Choices {
    OrganisationKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), k.label().to_owned()))
        .collect()
}

#[derive(Template)]
#[template(path = "contract/partners.html")]
struct ListPage {
    l: Layout,
    slug: String,
    csrf: String,
    organisations: Vec<Organisation>,
    people: Vec<(Person, String)>,
    org_form: OrganisationRaw,
    person_form: PersonRaw,
    errors: FormErrors,
    kinds: Choices,
    org_choices: Choices,
}

async fn list_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    org_form: OrganisationRaw,
    person_form: PersonRaw,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let organisations = partners::organisations(&st.db, tc.territory.id).await?;
    let people = partners::people(&st.db, tc.territory.id)
        .await?
        .into_iter()
        .map(|p| {
            let org = p
                .organisation_id
                .and_then(|o| organisations.iter().find(|x| x.id == o))
                .map(|o| o.name.clone())
                .unwrap_or_default();
            (p, org)
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        render(&ListPage {
            l: ctx.admin_layout("Annuaire des partenaires"),
            slug: tc.territory.slug.clone(),
            csrf: ctx.csrf(),
            org_choices: organisations
                .iter()
                .map(|o| (o.id.to_string(), o.name.clone()))
                .collect(),
            organisations,
            people,
            org_form,
            person_form,
            errors,
            kinds: kinds(),
        }),
    )
        .into_response())
}

async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let org_form = OrganisationRaw {
        kind: "association".into(),
        ..Default::default()
    };
    list_page(
        &st,
        &ctx,
        &tc,
        org_form,
        PersonRaw::default(),
        FormErrors::default(),
    )
    .await
}

fn name_taken(name: &str) -> (&'static str, String) {
    (
        "name",
        format!("Nom : une structure « {name} » existe déjà dans l'annuaire"),
    )
}

async fn create_org(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Form(form): Form<OrganisationRaw>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    form::submit(
        form,
        |f| f.parse().map_err(FormErrors),
        async |o| match partners::create_organisation(&st.db, &user.actor(), t.id, &o).await {
            Err(DbError::Conflict(_)) => Err(name_refused(&o.name)),
            other => Ok(other?),
        },
        form::UNVERSIONED,
        |_| {
            flash::see_other(
                &format!("/admin/t/{}/partenaires", t.slug),
                "Structure ajoutée.",
            )
        },
        async |again| {
            let person = PersonRaw::default();
            list_page(&st, &ctx, &tc, again.typed, person, again.errors).await
        },
    )
    .await
}

/// An organisation's name already in the directory (422).
fn name_refused(name: &str) -> form::Failed {
    form::Failed::Refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        FormErrors(vec![name_taken(name)]),
    )
}

fn person_errors(e: DbError) -> Result<Vec<(&'static str, String)>, AppError> {
    match e {
        DbError::Conflict(c) if c == "people_account_unknown" => Ok(vec![(
            "account_email",
            "Compte : aucun compte n'a cette adresse ; créez-le d'abord dans « Comptes »".into(),
        )]),
        DbError::Conflict(_) => Ok(vec![(
            "organisation_id",
            "Structure : choisissez une structure de l'annuaire".into(),
        )]),
        e => Err(e.into()),
    }
}

/// A person's save refused by the directory (unknown account or
/// organisation: 422), stale, or failed.
fn person_refused(e: DbError) -> form::Failed {
    match e {
        DbError::Stale => form::Failed::Stale,
        e => match person_errors(e) {
            Ok(list) => form::Failed::Refused(StatusCode::UNPROCESSABLE_ENTITY, FormErrors(list)),
            Err(e) => form::Failed::Error(e),
        },
    }
}

async fn create_person(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Form(form): Form<PersonRaw>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    form::submit(
        form,
        |f| f.parse().map_err(FormErrors),
        async |p| {
            partners::create_person(&st.db, &user.actor(), t.id, &p)
                .await
                .map_err(person_refused)
        },
        form::UNVERSIONED,
        |_| {
            let to = format!("/admin/t/{}/partenaires#personnes", t.slug);
            flash::see_other(&to, "Contact ajouté.")
        },
        async |again| {
            let org_form = OrganisationRaw {
                kind: "association".into(),
                ..Default::default()
            };
            list_page(&st, &ctx, &tc, org_form, again.typed, again.errors).await
        },
    )
    .await
}

// ------------------------------------------------------------ organisation

#[derive(Template)]
#[template(path = "contract/organisation_edit.html")]
struct OrgPage {
    l: Layout,
    slug: String,
    csrf: String,
    id: i64,
    version: i64,
    form: OrganisationRaw,
    conflict: Option<OrganisationRaw>,
    errors: FormErrors,
    kinds: Choices,
}

fn org_raw(o: &Organisation) -> OrganisationRaw {
    OrganisationRaw {
        name: o.name.clone(),
        kind: o.kind.clone(),
        siret: o.siret.clone().unwrap_or_default(),
        finess: o.finess.clone().unwrap_or_default(),
        website: o.website.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
fn org_page(
    ctx: &Ctx,
    tc: &TerritoryCtx,
    o: &Organisation,
    version: i64,
    form: OrganisationRaw,
    conflict: Option<OrganisationRaw>,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    (
        status,
        render(&OrgPage {
            l: ctx.admin_layout(format!("Structure : {}", o.name)),
            slug: tc.territory.slug.clone(),
            csrf: ctx.csrf(),
            id: o.id,
            version,
            form,
            conflict,
            errors,
            kinds: kinds(),
        }),
    )
        .into_response()
}

async fn load_org(st: &AppState, tc: &TerritoryCtx, id: i64) -> Result<Organisation, AppError> {
    partners::organisation(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn edit_org(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let o = load_org(&st, &tc, id).await?;
    Ok(org_page(
        &ctx,
        &tc,
        &o,
        o.version,
        org_raw(&o),
        None,
        FormErrors::default(),
        StatusCode::OK,
    ))
}

#[derive(Deserialize)]
struct OrgSave {
    #[serde(default)]
    version: String,
    #[serde(flatten)]
    raw: OrganisationRaw,
}

async fn save_org(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<OrgSave>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let o = load_org(&st, &tc, id).await?;
    let version = form::version(&f.version);
    form::submit(
        f,
        |f| f.raw.parse().map_err(FormErrors),
        async |input| {
            let actor = user.actor();
            match partners::update_organisation(&st.db, &actor, t.id, id, version, &input).await {
                Err(DbError::Conflict(_)) => Err(name_refused(&input.name)),
                other => Ok(other?),
            }
        },
        // The page says it: « Quelqu'un a enregistré une autre version ».
        ("", ""),
        |_| {
            flash::see_other(
                &format!("/admin/t/{}/partenaires", t.slug),
                "Structure enregistrée.",
            )
        },
        async |again| {
            // After a stale save: what was typed in the form, the stored
            // version beside it, and the next save starts from it.
            let (o, version, conflict) = if again.stale {
                let o = load_org(&st, &tc, id).await?;
                let theirs = org_raw(&o);
                (o.clone(), o.version, Some(theirs))
            } else {
                (o, version, None)
            };
            let raw = again.typed.raw;
            Ok(org_page(
                &ctx,
                &tc,
                &o,
                version,
                raw,
                conflict,
                again.errors,
                again.status,
            ))
        },
    )
    .await
}

// ------------------------------------------------------------ person

#[derive(Template)]
#[template(path = "contract/person_edit.html")]
struct PersonPage {
    l: Layout,
    slug: String,
    csrf: String,
    id: i64,
    version: i64,
    form: PersonRaw,
    conflict: Option<PersonRaw>,
    errors: FormErrors,
    org_choices: Choices,
}

async fn person_raw(st: &AppState, p: &Person) -> Result<PersonRaw, AppError> {
    let account_email = match p.user_id {
        Some(u) => crate::storage::users::get(&st.db, u)
            .await
            .ok()
            .map(|u| u.email)
            .unwrap_or_default(),
        None => String::new(),
    };
    Ok(PersonRaw {
        full_name: p.full_name.clone(),
        organisation_id: p.organisation_id.map(|o| o.to_string()).unwrap_or_default(),
        job_title: p.job_title.clone(),
        email: p.email.clone(),
        phone: p.phone.clone(),
        consent_on: p
            .consent_on
            .as_deref()
            .map(crate::plan::fr_date)
            .unwrap_or_default(),
        public_contact: if p.public_contact {
            "on".into()
        } else {
            String::new()
        },
        account_email,
    })
}

#[allow(clippy::too_many_arguments)]
async fn person_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    p: &Person,
    version: i64,
    form: PersonRaw,
    conflict: Option<PersonRaw>,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let org_choices = partners::organisations(&st.db, tc.territory.id)
        .await?
        .into_iter()
        .map(|o| (o.id.to_string(), o.name))
        .collect();
    Ok((
        status,
        render(&PersonPage {
            l: ctx.admin_layout(format!("Contact : {}", p.full_name)),
            slug: tc.territory.slug.clone(),
            csrf: ctx.csrf(),
            id: p.id,
            version,
            form,
            conflict,
            errors,
            org_choices,
        }),
    )
        .into_response())
}

async fn load_person(st: &AppState, tc: &TerritoryCtx, id: i64) -> Result<Person, AppError> {
    partners::person(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn edit_person(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let p = load_person(&st, &tc, id).await?;
    let form = person_raw(&st, &p).await?;
    person_page(
        &st,
        &ctx,
        &tc,
        &p,
        p.version,
        form,
        None,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct PersonSave {
    #[serde(default)]
    version: String,
    #[serde(flatten)]
    raw: PersonRaw,
}

async fn save_person(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<PersonSave>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let p = load_person(&st, &tc, id).await?;
    let version = form::version(&f.version);
    form::submit(
        f,
        |f| f.raw.parse().map_err(FormErrors),
        async |input| {
            partners::update_person(&st.db, &user.actor(), t.id, id, version, &input)
                .await
                .map_err(person_refused)
        },
        // The page says it: « Quelqu'un a enregistré une autre version ».
        ("", ""),
        |_| {
            let to = format!("/admin/t/{}/partenaires#personnes", t.slug);
            flash::see_other(&to, "Contact enregistré.")
        },
        async |again| {
            // After a stale save: what was typed in the form, the stored
            // version beside it, and the next save starts from it.
            let (p, version, conflict) = if again.stale {
                let p = load_person(&st, &tc, id).await?;
                let theirs = person_raw(&st, &p).await?;
                let v = p.version;
                (p, v, Some(theirs))
            } else {
                (p, version, None)
            };
            let raw = again.typed.raw;
            person_page(
                &st,
                &ctx,
                &tc,
                &p,
                version,
                raw,
                conflict,
                again.errors,
                again.status,
            )
            .await
        },
    )
    .await
}

/// Everything stored about a person, as a JSON download (RGPD access).
async fn export_person(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let export = partners::export_person(&st.db, tc.territory.id, id).await?;
    let body = serde_json::to_vec_pretty(&export).map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/json; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"contact-{id}.json\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

async fn delete_person(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    partners::delete_person(&st.db, &user.actor(), tc.territory.id, id).await?;
    Ok(Redirect::to(&format!(
        "/admin/t/{}/partenaires#personnes",
        tc.territory.slug
    ))
    .into_response())
}
