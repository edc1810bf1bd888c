//! The signed-in account.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::web::error::ApiErrorBody;
use crate::web::session::SignedIn;

#[derive(Serialize, ToSchema)]
pub struct MembershipOut {
    pub territory: String,
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub email: String,
    pub display_name: String,
    /// `none`, `regional` or `admin`.
    pub instance_role: String,
    pub memberships: Vec<MembershipOut>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = Me), (status = 401, body = ApiErrorBody)))]
pub async fn me(SignedIn(u): SignedIn) -> Json<Me> {
    Json(Me {
        email: u.user.email.clone(),
        display_name: u.user.display_name.clone(),
        instance_role: u.user.instance_role.clone(),
        memberships: u
            .memberships
            .iter()
            .map(|m| MembershipOut {
                territory: m.slug.clone(),
                role: m.role.clone(),
            })
            .collect(),
    })
}
