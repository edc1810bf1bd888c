//! The public diagnosis page and its XLSX export.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::tables::{self, format_sig, Table};
use crate::diagnosis::{self, Diagnosis, ProfessionFacts};
use crate::domain::diagnosis::chapter::Chapter;
use crate::domain::diagnosis::profession::Profession;
use crate::domain::indicator::format_number;
use crate::storage::public_pages;
use crate::web::error::AppError;
use crate::web::maps::{Area, Choropleth, Class, BLUES};
use crate::web::pages::{paragraphs, render, Ctx, Layout};
use crate::web::public::load_public_territory;
use crate::web::AppState;

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    profession: Option<String>,
}

pub struct FindingView {
    pub title: String,
    pub body: Vec<String>,
    pub actions: Vec<(String, String)>,
}

pub struct ChapterView {
    pub id: &'static str,
    pub findings: Vec<FindingView>,
}

pub struct ConsultationView {
    pub id: i64,
    pub title: String,
    pub responses: i64,
    pub published: bool,
}

pub struct ProfessionLink {
    pub slug: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "diagnosis/public.html")]
struct DiagnosisPage {
    l: Layout,
    slug: String,
    name: String,
    population: String,
    communes: usize,
    qpvs: usize,
    comparison: String,
    standardised: bool,
    computed_at: String,
    has_maps: bool,
    population_map: (String, String),
    access_map: (String, String),
    t_population: Table,
    t_supply: Table,
    t_densities: Table,
    t_access: Table,
    t_flagged: Table,
    professions: Vec<ProfessionLink>,
    profession_label: String,
    bands: String,
    threshold: String,
    chapters: Vec<ChapterView>,
    consultations: Vec<ConsultationView>,
    sources: Vec<diagnosis::Source>,
}

impl DiagnosisPage {
    fn findings(&self, id: &str) -> Option<&ChapterView> {
        self.chapters
            .iter()
            .find(|c| c.id == id && !c.findings.is_empty())
    }
}

/// Words for a band list: « 100 % jusqu'à 10 min, 68 % jusqu'à 20 min… ».
pub fn bands_words(p: &ProfessionFacts) -> String {
    p.bands
        .pairs()
        .iter()
        .map(|(m, w)| {
            format!(
                "{} % jusqu'à {} min",
                format_number(w * 100.0),
                format_number(*m)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn population_map(d: &Diagnosis) -> Choropleth {
    let values: Vec<f64> = d
        .communes
        .iter()
        .filter_map(|c| c.population.map(|p| p as f64))
        .collect();
    let bounds = Choropleth::quantile_bounds(&values, 4);
    choropleth(
        "carte-population",
        "Population municipale par commune",
        &bounds,
        d,
        |c| c.population.map(|p| p as f64),
        "habitants",
        |_| false,
        "",
    )
}

fn access_map(d: &Diagnosis, p: &ProfessionFacts) -> Choropleth {
    let values: Vec<f64> = p.rows.iter().filter_map(|r| r.score).collect();
    let bounds = Choropleth::quantile_bounds(&values, 4);
    let threshold = p.threshold;
    choropleth(
        "carte-accessibilite",
        &format!(
            "Accessibilité aux {} par commune, pour 10 000 habitants",
            p.profession.label().to_lowercase()
        ),
        &bounds,
        d,
        |c| p.row(&c.code).and_then(|r| r.score),
        "pour 10 000 habitants",
        |v| threshold.is_some_and(|t| v < t),
        "contour rouge : sous le seuil",
    )
}

#[allow(clippy::too_many_arguments)]
fn choropleth(
    id: &str,
    title: &str,
    bounds: &[f64],
    d: &Diagnosis,
    value: impl Fn(&diagnosis::CommuneFacts) -> Option<f64>,
    unit: &str,
    marked: impl Fn(f64) -> bool,
    marked_label: &str,
) -> Choropleth {
    let palette: &[&str] = match bounds.len() {
        0 | 1 => &BLUES[2..3],
        2 => &[BLUES[1], BLUES[3]],
        3 => &[BLUES[1], BLUES[2], BLUES[4]],
        _ => &BLUES[1..],
    };
    let mut lower: Option<f64> = None;
    let classes = bounds
        .iter()
        .zip(palette)
        .map(|(b, fill)| {
            let label = match lower {
                None => format!("jusqu'à {} {unit}", format_sig(*b)),
                Some(l) => format!("de plus de {} à {} {unit}", format_sig(l), format_sig(*b)),
            };
            lower = Some(*b);
            Class { label, fill }
        })
        .collect();
    let areas = d
        .communes
        .iter()
        .filter_map(|c| {
            let outline = c.outline.clone()?;
            let v = value(c);
            Some(Area {
                code: c.code.clone(),
                name: c.name.clone(),
                outline,
                class: v.map(|v| Choropleth::class_of(bounds, v)),
                value: match v {
                    Some(v) => format!("{} {unit}", format_sig(v)),
                    None => "pas de valeur".into(),
                },
                marked: v.is_some_and(&marked),
            })
        })
        .collect();
    Choropleth {
        id: id.into(),
        title: title.into(),
        classes,
        areas,
        context: d.context.clone(),
        marked_label: marked_label.into(),
    }
}

/// One statement (`public_pages::diagnosis_page`), the diagnosis computed
/// from it and the maps' outlines parsed once per version (two statements
/// more when they are read).
pub async fn page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let profession = super::profession_of(q.profession.as_deref()).ok_or_else(|| {
        AppError::BadRequest(
            "Profession inconnue : choisissez généralistes, infirmiers, kinésithérapeutes, dentistes, sages-femmes ou pharmacies.".into(),
        )
    })?;
    let page = public_pages::diagnosis_page(&st.db, &slug)
        .await?
        .ok_or(AppError::NotFound)?;
    let t = page.territory;
    let codes = page
        .stored
        .communes
        .iter()
        .map(|c| c.insee_code.clone())
        .collect();
    let outlines =
        super::outlines::get(&st.db, t.id, page.geo_version, codes, &page.stored.inputs).await?;
    let d = diagnosis::assemble(page.stored, Some(&outlines));
    let p = d.profession(profession).ok_or(AppError::NotFound)?.clone();
    let (findings, links) = (page.findings, page.links);
    let chapters = Chapter::ALL
        .into_iter()
        .map(|c| ChapterView {
            id: c.as_str(),
            findings: findings
                .iter()
                .filter(|f| f.chapter == c.as_str())
                .map(|f| FindingView {
                    title: f.title.clone(),
                    body: paragraphs(&f.body),
                    actions: links
                        .iter()
                        .filter(|l| l.finding_id == f.id)
                        .map(|l| (l.code.clone(), l.title.clone()))
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let consultations = page
        .consultations
        .into_iter()
        .map(|c| ConsultationView {
            id: c.id,
            title: c.title,
            responses: c.response_count,
            published: c.results_published,
        })
        .collect();
    let comparison = [
        d.departement.as_ref().map(|(c, n)| format!("{n} ({c})")),
        d.region.as_ref().map(|(_, n)| n.clone()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let pm = population_map(&d);
    let am = access_map(&d, &p);
    let page = DiagnosisPage {
        l: ctx.public_layout("Diagnostic local de santé", &t.slug, &t.name),
        slug: t.slug.clone(),
        name: t.name.clone(),
        population: format_number(d.population() as f64),
        communes: d.communes.len(),
        qpvs: d.communes.iter().map(|c| c.qpvs.len()).sum(),
        comparison,
        standardised: d.standardised(),
        computed_at: d
            .run
            .as_ref()
            .map(|r| crate::domain::dates::paris_datetime(r.computed_at))
            .unwrap_or_default(),
        has_maps: d.has_maps(),
        population_map: (pm.svg(), pm.legend()),
        access_map: (am.svg(), am.legend()),
        t_population: tables::population(&d),
        t_supply: tables::supply(&d),
        t_densities: tables::densities(&d),
        t_access: tables::accessibility(&d, &p),
        t_flagged: tables::flagged(&d),
        professions: Profession::ALL
            .into_iter()
            .map(|x| ProfessionLink {
                slug: x.slug(),
                label: x.label(),
                current: x == profession,
            })
            .collect(),
        profession_label: p.profession.label().to_lowercase(),
        bands: bands_words(&p),
        threshold: match (p.threshold, p.threshold_is_median) {
            (Some(v), true) => format!(
                "{} pour 10 000 habitants (médiane nationale)",
                format_sig(v)
            ),
            (Some(v), false) => format!(
                "{} pour 10 000 habitants (fixé par la coordination)",
                format_sig(v)
            ),
            (None, _) => "aucun (pas encore de score national)".into(),
        },
        chapters,
        consultations,
        sources: d.sources.clone(),
    };
    Ok(render(&page))
}

pub async fn xlsx(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let d = diagnosis::load(&st.db, t.id, false).await?;
    let tables = tables::all(&d);
    let sources: Vec<(String, String)> = d
        .sources
        .iter()
        .map(|s| (s.label.to_owned(), s.detail.clone()))
        .collect();
    let body = tokio::task::spawn_blocking(move || tables::to_xlsx(&tables, &sources))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"diagnostic-{}.xlsx\"", t.slug),
            ),
        ],
        body,
    )
        .into_response())
}
