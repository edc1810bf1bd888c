//! The public pages of a contract and of an action.

use super::*;
use crate::storage::public_pages::{PublicDocument, PublicFollowUp, PublicIdea};

// ---------------------------------------------------------------- public

#[derive(Template)]
#[template(path = "contract/public.html")]
pub(super) struct PublicPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) c: Contract,
    pub(super) kind: &'static str,
    pub(super) status: &'static str,
    pub(super) signed_on: String,
    pub(super) period_start: String,
    pub(super) period_end: String,
    pub(super) summary: Vec<String>,
    pub(super) signatories: Vec<String>,
    pub(super) milestones: Vec<(String, String)>,
    pub(super) axes: Vec<AxisView>,
    pub(super) indicators: Vec<fiche::IndicatorView>,
    pub(super) documents: Vec<PublicDocument>,
}

/// The public page of a contract: one statement (`storage::public_pages::
/// contract_page`), and the territory's drop-in schedule from this
/// process's cache when a computed indicator of the contract needs it (read
/// again only when its stamp changed).
pub(super) async fn public_contract(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let crate::storage::public_pages::ContractPage {
        territory_id,
        territory_slug,
        territory_name,
        contract: c,
        milestones,
        plan,
        mut indicators,
        sources,
        documents,
        computed,
    } = crate::storage::public_pages::contract_page(&st.db, &slug, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(input) = computed {
        fill_computed(
            &st,
            territory_id,
            input.schedule_stamp,
            &mut indicators,
            |world, inds| {
                crate::evaluation::computed_for_contract(
                    world.schedules(),
                    input.rows,
                    &input.sources,
                    &c,
                    inds,
                    super::list::today(),
                )
            },
        )
        .await?;
    }
    let indicators = indicators
        .iter()
        .map(|(i, ms)| {
            let mut v = fiche::indicator_view(i, ms);
            v.raw.source_ref = crate::evaluation::source_ref_of(&sources, i.id);
            v
        })
        .collect();
    let milestones = milestones
        .into_iter()
        .map(|m| (fr_date(&Some(m.happened_on)), m.label))
        .collect();
    Ok(render(&PublicPage {
        l: ctx.public_layout(c.title.clone(), &territory_slug, &territory_name),
        slug: territory_slug,
        kind: ContractKind::parse(&c.kind)
            .map(|k| k.label())
            .unwrap_or(""),
        status: ContractStatus::parse(&c.status)
            .map(|s| s.label())
            .unwrap_or(""),
        signed_on: fr_date(&c.signed_on),
        period_start: fr_date(&c.period_start),
        period_end: fr_date(&c.period_end),
        summary: paragraphs(&c.summary),
        signatories: c.signatory_list().into_iter().map(str::to_owned).collect(),
        milestones,
        axes: tree(plan),
        indicators,
        documents,
        c,
    }))
}

pub struct StepView {
    pub date: String,
    pub label: String,
    pub done: bool,
}

pub struct LeadPerson {
    pub name: String,
    pub job_title: String,
    pub email: String,
    pub phone: String,
}

#[derive(Template)]
#[template(path = "contract/action.html")]
pub(super) struct ActionPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) c: Contract,
    pub(super) a: contract::Action,
    pub(super) status: &'static str,
    pub(super) description: Vec<String>,
    pub(super) findings: Vec<String>,
    /// Findings of the territory's diagnosis that lead to the action.
    pub(super) diagnosis: Vec<(String, Vec<String>)>,
    pub(super) aims: Vec<String>,
    pub(super) publics: Vec<String>,
    pub(super) period: String,
    pub(super) themes: Vec<String>,
    pub(super) scope: Vec<String>,
    pub(super) partners: Vec<String>,
    pub(super) lead_person: Option<LeadPerson>,
    pub(super) steps: Vec<StepView>,
    pub(super) history: Vec<(String, String)>,
    pub(super) budget: Vec<fiche::BudgetView>,
    pub(super) budget_total: String,
    pub(super) indicators: Vec<fiche::IndicatorView>,
    pub(super) links: Vec<(String, String)>,
    pub(super) documents: Vec<PublicDocument>,
    /// Follow-ups decided in public meetings.
    pub(super) follow_ups: Vec<PublicFollowUp>,
    /// Published ideas of inhabitants that led to the action.
    pub(super) ideas: Vec<PublicIdea>,
    /// Drop-in series and events that carry out the action.
    pub(super) agenda: crate::storage::agenda::LinkedToAction,
    pub(super) updated: String,
}

/// The public fiche action: one statement (`storage::public_pages::
/// action_page`), and the territory's drop-in schedule from this process's
/// cache when a computed indicator needs it (read again only when its
/// stamp changed).
pub(super) async fn public_action(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((slug, code)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let page = crate::storage::public_pages::action_page(&st.db, &slug, code.trim())
        .await?
        .ok_or(AppError::NotFound)?;
    let crate::storage::public_pages::ActionPage {
        territory_id,
        territory_slug,
        territory_name,
        contract: c,
        action: a,
        partners,
        themes,
        scope,
        links,
        steps,
        budget,
        lead_contact,
        history,
        mut indicators,
        documents,
        follow_ups,
        ideas,
        findings,
        agenda,
        computed,
    } = page;
    if let Some(input) = computed {
        fill_computed(
            &st,
            territory_id,
            input.schedule_stamp,
            &mut indicators,
            |world, inds| {
                crate::evaluation::computed_for_action(
                    world.schedules(),
                    input.rows,
                    &input.sources,
                    &c,
                    &a,
                    inds,
                    super::list::today(),
                )
            },
        )
        .await?;
    }
    let scope = scope
        .into_iter()
        .map(|s| {
            if s.kind == "qpv" {
                format!("Quartier prioritaire {}", s.name)
            } else {
                s.name
            }
        })
        .collect();
    // Contact data only with the person's consent to publish it (the
    // statement reads it only then).
    let lead_person = lead_contact.map(|p| LeadPerson {
        name: p.full_name,
        job_title: p.job_title,
        email: p.email,
        phone: p.phone,
    });
    let steps = steps
        .into_iter()
        .map(|s| StepView {
            date: s
                .due_on
                .as_deref()
                .map(crate::plan::fr_date)
                .unwrap_or_default(),
            label: s.label,
            done: s.done,
        })
        .collect();
    let history = history
        .into_iter()
        .map(|(at, status, progress)| {
            (
                crate::domain::dates::paris_date(at),
                format!("{} ({} %)", ActionStatus::label_of(&status), progress),
            )
        })
        .collect();
    let (budget, budget_total) = fiche::budget_view(&budget);
    let indicators = indicators
        .iter()
        .map(|(i, ms)| fiche::indicator_view(i, ms))
        .collect();
    let period = match (&a.period_start, &a.period_end) {
        (Some(s), Some(e)) => format!(
            "du {} au {}",
            crate::plan::fr_date(s),
            crate::plan::fr_date(e)
        ),
        (Some(s), None) => format!("à partir du {}", crate::plan::fr_date(s)),
        (None, Some(e)) => format!("jusqu'au {}", crate::plan::fr_date(e)),
        (None, None) => String::new(),
    };
    Ok(render(&ActionPage {
        l: ctx.public_layout(
            format!("Action {} : {}", a.code, a.title),
            &territory_slug,
            &territory_name,
        ),
        slug: territory_slug,
        status: status_label(&a.status),
        description: paragraphs(&a.description),
        findings: paragraphs(&a.findings),
        diagnosis: findings
            .into_iter()
            .map(|(title, body)| (title, paragraphs(&body)))
            .collect(),
        aims: paragraphs(&a.aims),
        publics: paragraphs(&a.publics),
        period,
        themes: fiche::theme_labels(&themes),
        scope,
        partners,
        lead_person,
        steps,
        history,
        budget,
        budget_total,
        indicators,
        links,
        documents,
        follow_ups,
        ideas,
        agenda,
        updated: crate::domain::dates::paris_date(a.updated_at),
        c,
        a,
    }))
}

/// Fill a public page's computed indicators in place: its facts came with
/// the page's statement, the territory's drop-in schedule comes from this
/// process's cache, checked against the stamp the statement read;
/// `compute` is the page's evaluation (the contract's or the action's).
async fn fill_computed(
    st: &AppState,
    territory_id: i64,
    stamp: String,
    indicators: &mut [(
        crate::storage::indicators::Indicator,
        Vec<crate::storage::indicators::Measurement>,
    )],
    compute: impl FnOnce(
        &crate::web::agenda::SeriesWorld,
        &[crate::storage::indicators::Indicator],
    )
        -> std::collections::HashMap<i64, Vec<crate::storage::indicators::Measurement>>,
) -> Result<(), AppError> {
    let world = st.worlds.get_stamped(&st.db, territory_id, stamp).await?;
    let inds: Vec<_> = indicators.iter().map(|(i, _)| i.clone()).collect();
    let mut values = compute(&world, &inds);
    for (i, ms) in indicators.iter_mut() {
        if let Some(m) = values.remove(&i.id) {
            *ms = m;
        }
    }
    Ok(())
}
