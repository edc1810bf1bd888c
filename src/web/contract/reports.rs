//! The contract's reports: the yearly review of each year begun and the
//! end-of-contract evaluation, in HTML (prints on A4), DOCX, ODT and XLSX.
//! Coordinators make them; regional staff read every territory's.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::list::today;
use crate::domain::roles::Role;
use crate::report::{self, review, Format};
use crate::storage::contract::{self, Contract};
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, Layout};
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    let coord = Access::Territory(Role::Coordinator);
    r.get(
        "/admin/t/{territory}/contrats/{contract}/rapports",
        coord,
        page,
    )
    .get(
        "/admin/t/{territory}/contrats/{contract}/rapports/{file}",
        coord,
        download,
    )
}

#[derive(askama::Template)]
#[template(path = "contract/reports.html")]
struct ReportsPage {
    l: Layout,
    slug: String,
    contract: Contract,
    years: Vec<i32>,
    /// Why no yearly review can be made (no period), or empty.
    no_period: String,
}

async fn load(st: &AppState, tc: &TerritoryCtx, id: i64) -> Result<Contract, AppError> {
    contract::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn page(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let no_period = match review::contract_period(&c) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    Ok(render(&ReportsPage {
        l: ctx.admin_layout(format!("Bilans et évaluation — {}", c.title)),
        slug: tc.territory.slug.clone(),
        years: review::review_years(&c, today()),
        contract: c,
        no_period,
    }))
}

/// `bilan-2025.docx` → (Some(2025), Docx); `evaluation.odt` → (None, Odt).
fn parse_file(file: &str) -> Option<(Option<i32>, Format)> {
    let (stem, ext) = file.rsplit_once('.')?;
    let format = Format::parse(ext)?;
    if stem == "evaluation" {
        return Some((None, format));
    }
    let year: i32 = stem.strip_prefix("bilan-")?.parse().ok()?;
    Some((Some(year), format))
}

impl From<review::ReportError> for AppError {
    fn from(e: review::ReportError) -> Self {
        match e {
            review::ReportError::Refused(m) => AppError::Unprocessable(m),
            review::ReportError::Db(e) => e.into(),
            review::ReportError::Render(e) => AppError::Internal(anyhow::anyhow!(e)),
        }
    }
}

async fn download(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    Path((_, id, file)): Path<(String, i64, String)>,
) -> Result<Response, AppError> {
    let (year, format) = parse_file(&file).ok_or(AppError::NotFound)?;
    let c = load(&st, &tc, id).await?;
    let bytes = report::produce(&st.db, c, year, format, today()).await?;
    let name = format!(
        "{}-{}.{}",
        tc.territory.slug,
        match year {
            Some(y) => format!("bilan-{y}"),
            None => "evaluation".into(),
        },
        format.extension()
    );
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if format == Format::Html {
        // A standalone page with its own print styles and inline SVG
        // charts: no script, nothing else loaded.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                 base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            ),
        );
    } else if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            parse_file("bilan-2025.docx"),
            Some((Some(2025), Format::Docx))
        );
        assert_eq!(parse_file("evaluation.ODT"), Some((None, Format::Odt)));
        assert_eq!(parse_file("bilan-20x5.docx"), None);
        assert_eq!(parse_file("bilan-2025.pdf"), None);
        assert_eq!(parse_file("autre.html"), None);
    }
}
