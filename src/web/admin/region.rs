//! The regional view: every territory of the instance, read-only.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::storage::territories;
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, Layout};
use crate::web::public::{territory_items, TerritoryItem};
use crate::web::AppState;

#[derive(Template)]
#[template(path = "region/index.html")]
struct RegionPage {
    l: Layout,
    territories: Vec<TerritoryItem>,
}

pub async fn index(State(st): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let territories = territory_items(territories::list(&st.db).await?);
    Ok(render(&RegionPage {
        l: ctx.admin_layout("Vue régionale"),
        territories,
    }))
}
