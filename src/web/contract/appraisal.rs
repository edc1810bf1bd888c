//! The end-of-contract evaluation (« Évaluation finale ») in the back
//! office: evaluative questions by criterion (add, edit with conflict
//! detection, move, delete), their answers and indicators, the standard
//! questions, and the stakeholder questionnaire made from a template.
//! Coordinators write; regional staff read.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use crate::domain::appraisal::{Criterion, QuestionRaw};
use crate::domain::roles::Role;
use crate::storage::appraisal::{self, Question};
use crate::storage::contract::{self as contracts, Contract};
use crate::storage::DbError;
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::session::SignedIn;
use crate::web::AppState;
use crate::web::{flash, form};

pub fn routes(r: Routes) -> Routes {
    let coord = Access::Territory(Role::Coordinator);
    r.get(
        "/admin/t/{territory}/contrats/{contract}/evaluation",
        coord,
        page_get,
    )
    .post(
        "/admin/t/{territory}/contrats/{contract}/evaluation/questions",
        coord,
        create,
    )
    .post(
        "/admin/t/{territory}/contrats/{contract}/evaluation/questions/{question}",
        coord,
        update,
    )
    .post(
        "/admin/t/{territory}/contrats/{contract}/evaluation/questions/{question}/ordre",
        coord,
        reorder,
    )
    .post(
        "/admin/t/{territory}/contrats/{contract}/evaluation/questions/{question}/supprimer",
        coord,
        delete,
    )
    .post(
        "/admin/t/{territory}/contrats/{contract}/evaluation/questions-types",
        coord,
        standard,
    )
    .post(
        "/admin/t/{territory}/contrats/{contract}/evaluation/questionnaire",
        coord,
        questionnaire,
    )
}

fn base_url(slug: &str, contract_id: i64) -> String {
    format!("/admin/t/{slug}/contrats/{contract_id}/evaluation")
}

/// A question as the page shows it, with its form values.
struct QuestionView {
    id: i64,
    number: usize,
    q: Question,
    /// The form: what was typed after a refusal, else the stored values.
    raw: QuestionRaw,
    version: i64,
    first: bool,
    last: bool,
    /// Indicator labels, for reading.
    indicator_labels: Vec<String>,
}

struct CriterionView {
    code: &'static str,
    label: &'static str,
    definition: &'static str,
    questions: Vec<QuestionView>,
}

#[derive(Template)]
#[template(path = "contract/appraisal.html")]
struct AppraisalPage {
    l: Layout,
    slug: String,
    csrf: String,
    c: Contract,
    base: String,
    can_edit: bool,
    criteria: Vec<CriterionView>,
    count: usize,
    /// The contract's indicators: (id, « code : label (unit) »).
    indicators: Vec<(String, String)>,
    criterion_choices: Vec<(&'static str, &'static str)>,
    /// The new-question form.
    form: QuestionRaw,
    errors: FormErrors,
    /// The question whose edit was refused, and its stored version after a
    /// conflict.
    edited_for: i64,
    conflict: Option<Question>,
    /// The stakeholder questionnaire, if made: (title, address).
    questionnaire: Option<(String, String)>,
}

/// What the page shows besides the stored questions.
#[derive(Default)]
struct Shown {
    form: Option<QuestionRaw>,
    errors: FormErrors,
    edited_for: i64,
    edited: Option<QuestionRaw>,
    /// The edit's version as sent (kept after a refusal, the stored one
    /// after a conflict).
    edited_version: Option<i64>,
    conflict: bool,
}

fn raw_of(q: &Question) -> QuestionRaw {
    QuestionRaw {
        version: q.version.to_string(),
        criterion: q.criterion.clone(),
        question: q.question.clone(),
        answer: q.answer.clone(),
        indicators: q.indicators.iter().map(|i| i.to_string()).collect(),
    }
}

async fn load(st: &AppState, tc: &TerritoryCtx, id: i64) -> Result<Contract, AppError> {
    contracts::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    c: Contract,
    status: StatusCode,
    shown: Shown,
) -> Result<Response, AppError> {
    let slug = tc.territory.slug.clone();
    let questions = appraisal::for_contract(&st.db, c.id).await?;
    let plan = contracts::plan(&st.db, c.id).await?;
    let code_of = |action: Option<i64>| {
        action
            .and_then(|a| plan.actions.iter().find(|x| x.id == a))
            .map(|a| format!("{} : ", a.code))
            .unwrap_or_else(|| "Contrat : ".to_owned())
    };
    let indicators: Vec<(String, String)> = crate::storage::indicators::for_contract(&st.db, c.id)
        .await?
        .into_iter()
        .map(|i| {
            let unit = if i.unit.is_empty() {
                String::new()
            } else {
                format!(" ({})", i.unit)
            };
            (
                i.id.to_string(),
                format!("{}{}{unit}", code_of(i.action_id), i.label),
            )
        })
        .collect();
    let conflict = if shown.conflict {
        questions.iter().find(|q| q.id == shown.edited_for).cloned()
    } else {
        None
    };
    let mut count = 0;
    let criteria = Criterion::ALL
        .iter()
        .map(|cr| {
            let mine: Vec<&Question> = questions
                .iter()
                .filter(|q| q.criterion == cr.as_str())
                .collect();
            let n = mine.len();
            CriterionView {
                code: cr.as_str(),
                label: cr.label(),
                definition: cr.definition(),
                questions: mine
                    .into_iter()
                    .enumerate()
                    .map(|(i, q)| {
                        count += 1;
                        let edited = q.id == shown.edited_for;
                        QuestionView {
                            id: q.id,
                            number: i + 1,
                            raw: match (&shown.edited, edited) {
                                (Some(raw), true) => raw.clone(),
                                _ => raw_of(q),
                            },
                            version: match (shown.edited_version, edited) {
                                (Some(v), true) => v,
                                _ => q.version,
                            },
                            first: i == 0,
                            last: i + 1 == n,
                            indicator_labels: q
                                .indicators
                                .iter()
                                .filter_map(|id| {
                                    indicators
                                        .iter()
                                        .find(|(i, _)| *i == id.to_string())
                                        .map(|(_, l)| l.clone())
                                })
                                .collect(),
                            q: q.clone(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let questionnaire = match appraisal::consultation_id(&st.db, c.id).await? {
        Some(id) => {
            match crate::storage::participation::get_consultation(&st.db, tc.territory.id, id).await
            {
                Ok(q) => Some((q.title, format!("/admin/t/{slug}/consultations/{}", q.id))),
                Err(DbError::NotFound) => None,
                Err(e) => return Err(e.into()),
            }
        }
        None => None,
    };
    Ok((
        status,
        render(&AppraisalPage {
            l: ctx.admin_layout(format!("Évaluation finale : {}", c.title)),
            csrf: ctx.csrf(),
            base: base_url(&slug, c.id),
            can_edit: tc.is_coordinator(),
            criteria,
            count,
            indicators,
            criterion_choices: Criterion::ALL
                .iter()
                .map(|c| (c.as_str(), c.label()))
                .collect(),
            form: shown.form.unwrap_or_else(|| QuestionRaw {
                criterion: Criterion::Relevance.as_str().into(),
                ..Default::default()
            }),
            errors: shown.errors,
            edited_for: shown.edited_for,
            conflict,
            questionnaire,
            slug,
            c,
        }),
    )
        .into_response())
}

async fn page_get(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    page(&st, &ctx, &tc, c, StatusCode::OK, Shown::default()).await
}

/// The storage refused an indicator (another contract's): the message.
fn indicator_refused(e: DbError, field: &'static str) -> form::Failed {
    match e {
        DbError::Conflict(what) if what == "indicators" => form::Failed::Refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            FormErrors(vec![(
                field,
                "Indicateurs : un indicateur choisi n'est pas un indicateur de ce contrat".into(),
            )]),
        ),
        e => e.into(),
    }
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    axum_extra::extract::Form(raw): axum_extra::extract::Form<QuestionRaw>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let to = base_url(&tc.territory.slug, c.id);
    form::submit(
        raw,
        |r| r.parse().map_err(FormErrors),
        async |input| {
            appraisal::create(&st.db, &user.actor(), &c, &input)
                .await
                .map_err(|e| indicator_refused(e, "indicators"))
        },
        form::UNVERSIONED,
        |q| flash::see_other(&format!("{to}#q{}", q.id), "Question ajoutée."),
        async |again| {
            let shown = Shown {
                form: Some(again.typed),
                errors: again.errors,
                ..Default::default()
            };
            page(&st, &ctx, &tc, c.clone(), again.status, shown).await
        },
    )
    .await
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id, qid)): Path<(String, i64, i64)>,
    axum_extra::extract::Form(raw): axum_extra::extract::Form<QuestionRaw>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    appraisal::get(&st.db, c.id, qid)
        .await?
        .ok_or(AppError::NotFound)?;
    let version = form::version(&raw.version);
    let to = base_url(&tc.territory.slug, c.id);
    let field = |f: &'static str| match f {
        "criterion" => "e_criterion",
        "answer" => "e_answer",
        "indicators" => "e_indicators",
        _ => "e_question",
    };
    form::submit(
        raw,
        |r| {
            r.parse()
                .map_err(|es| FormErrors(es.into_iter().map(|(f, m)| (field(f), m)).collect()))
        },
        async |input| {
            appraisal::update(&st.db, &user.actor(), &c, qid, version, &input)
                .await
                .map_err(|e| indicator_refused(e, "e_indicators"))
        },
        // The page says it: « Quelqu'un a enregistré une autre version ».
        form::UNVERSIONED,
        |q| flash::see_other(&format!("{to}#q{}", q.id), "Question enregistrée."),
        async |again| {
            let stored_version = if again.stale {
                appraisal::get(&st.db, c.id, qid).await?.map(|q| q.version)
            } else {
                Some(version)
            };
            let shown = Shown {
                edited_for: qid,
                edited: Some(again.typed),
                edited_version: stored_version,
                errors: again.errors,
                conflict: again.stale,
                ..Default::default()
            };
            page(&st, &ctx, &tc, c.clone(), again.status, shown).await
        },
    )
    .await
}

#[derive(Deserialize)]
struct MoveForm {
    /// `haut` or `bas`.
    #[serde(default)]
    sens: String,
}

async fn reorder(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id, qid)): Path<(String, i64, i64)>,
    Form(f): Form<MoveForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let up = match f.sens.as_str() {
        "haut" => true,
        "bas" => false,
        _ => return Err(AppError::BadRequest("Sens inconnu (haut ou bas).".into())),
    };
    appraisal::move_question(&st.db, &user.actor(), &c, qid, up).await?;
    let to = format!("{}#q{qid}", base_url(&tc.territory.slug, c.id));
    Ok(flash::see_other(&to, "Ordre des questions enregistré."))
}

async fn delete(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id, qid)): Path<(String, i64, i64)>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    appraisal::delete(&st.db, &user.actor(), &c, qid).await?;
    Ok(flash::see_other(
        &base_url(&tc.territory.slug, c.id),
        "Question supprimée.",
    ))
}

async fn standard(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let n = appraisal::add_standard(&st.db, &user.actor(), &c).await?;
    let msg = match n {
        0 => "Les questions types sont déjà toutes là : rien n'a été ajouté.".to_owned(),
        1 => "Une question type ajoutée.".to_owned(),
        n => format!("{n} questions types ajoutées."),
    };
    Ok(flash::see_other(&base_url(&tc.territory.slug, c.id), &msg))
}

async fn questionnaire(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let (q, created) = appraisal::stakeholder_consultation(&st.db, &user.actor(), &c).await?;
    let to = format!("/admin/t/{}/consultations/{}", tc.territory.slug, q.id);
    let msg = if created {
        "Questionnaire des parties prenantes créé : réservé à un panel invité, ouvert 30 jours, résultats non publiés. Relisez-le, puis invitez les répondants ou ouvrez-le à tous."
    } else {
        "Le questionnaire des parties prenantes existe déjà : le voici."
    };
    Ok(flash::see_other(&to, msg))
}
