//! Attached documents (PDF, ODT, DOCX) of a contract or an action: upload
//! (size-limited, type checked by content), download, removal, and the
//! public download of published documents.

use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::fiche::{may_edit, Section, View};
use crate::domain::document;
use crate::domain::roles::Role;
use crate::storage::documents::{self, Document};
use crate::storage::{actions, contract};
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::AppError;
use crate::web::pages::{Ctx, FormErrors};
use crate::web::public::load_public_territory;
use crate::web::session::SignedIn;
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    let coord = Access::Territory(Role::Coordinator);
    let partner = Access::Territory(Role::Partner);
    r.post_upload(
        "/admin/t/{territory}/contrats/{contract}/documents",
        coord,
        upload_contract,
    )
    .post_upload(
        "/admin/t/{territory}/actions/{id}/documents",
        partner,
        upload_action,
    )
    .get("/admin/t/{territory}/documents/{id}", partner, download)
    .post(
        "/admin/t/{territory}/documents/{id}/supprimer",
        coord,
        delete,
    )
    .get(
        "/t/{territory}/documents/{id}",
        Access::Public,
        public_download,
    )
}

/// What the upload form sent.
pub(crate) struct Upload {
    pub title: String,
    pub public: bool,
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub too_big: bool,
}

pub(crate) async fn read_upload(mut form: Multipart, limit: usize) -> Result<Upload, AppError> {
    let mut up = Upload {
        title: String::new(),
        public: false,
        file_name: String::new(),
        bytes: Vec::new(),
        too_big: false,
    };
    let bad = |_| AppError::BadRequest("Envoi interrompu ou mal formé".into());
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        match field.name() {
            Some("title") => up.title = field.text().await.map_err(bad)?,
            Some("public") => up.public = !field.text().await.map_err(bad)?.is_empty(),
            Some("file") => {
                up.file_name = field.file_name().unwrap_or("").to_owned();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    if up.bytes.len() + chunk.len() > limit {
                        // Stop keeping bytes; the check below reports the size.
                        up.too_big = true;
                        continue;
                    }
                    up.bytes.extend_from_slice(&chunk);
                }
            }
            _ => {}
        }
    }
    Ok(up)
}

/// The checks of an upload, as form errors.
pub(crate) fn check(up: &Upload, limit: usize) -> Result<document::DocumentKind, FormErrors> {
    let mut errors = FormErrors::default();
    match crate::domain::text::bounded(&up.title, "Titre du document", true, 200) {
        Ok(_) => {}
        Err(e) => errors.push("doc_title", e.0),
    }
    let kind = if up.too_big {
        errors.push(
            "doc_file",
            format!(
                "Fichier : trop volumineux (au plus {} Mo)",
                limit / (1024 * 1024)
            ),
        );
        None
    } else if up.file_name.is_empty() && up.bytes.is_empty() {
        errors.push("doc_file", "Fichier : choisissez un fichier");
        None
    } else {
        document::check(&up.file_name, &up.bytes, limit)
            .map_err(|e| errors.push("doc_file", e.0))
            .ok()
    };
    match kind {
        Some(k) if errors.is_empty() => Ok(k),
        _ => Err(errors),
    }
}

/// Read, check and store an upload for the contract or one of its actions;
/// `Err` holds the form errors when the file is refused.
async fn store(
    st: &AppState,
    user: &crate::web::session::CurrentUser,
    c: &crate::storage::contract::Contract,
    action_id: Option<i64>,
    form: Multipart,
) -> Result<Result<(), FormErrors>, AppError> {
    let limit = st.config.document_limit;
    let up = read_upload(form, limit).await?;
    let kind = match check(&up, limit) {
        Ok(k) => k,
        Err(errors) => return Ok(Err(errors)),
    };
    documents::create(
        &st.db,
        &st.config.document_store(),
        &user.actor(),
        c,
        action_id,
        up.title.trim(),
        &document::safe_file_name(&up.file_name),
        kind,
        up.public,
        up.bytes,
    )
    .await?;
    Ok(Ok(()))
}

async fn upload_contract(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    form: Multipart,
) -> Result<Response, AppError> {
    let c = contract::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    match store(&st, &user, &c, None, form).await? {
        Ok(()) => Ok(Redirect::to(&format!(
            "/admin/t/{}/contrats/{id}#documents",
            tc.territory.slug
        ))
        .into_response()),
        Err(errors) => {
            let raw = super::raw_of(&c);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            super::edit_page(&st, &ctx, &tc, &c, c.version, raw, errors, None, status).await
        }
    }
}

async fn upload_action(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    form: Multipart,
) -> Result<Response, AppError> {
    let (c, a) = actions::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !may_edit(&st, &tc, a.id).await? {
        return Err(AppError::Forbidden);
    }
    match store(&st, &user, &c, Some(a.id), form).await? {
        Ok(()) => Ok(Redirect::to(&Section::Documents.url(&tc.territory.slug, id)).into_response()),
        Err(errors) => {
            let view = View::refused(Section::Documents, errors);
            super::fiche::page(&st, &ctx, &tc, c, a, view).await
        }
    }
}

async fn send(st: &AppState, doc: &Document) -> Result<Response, AppError> {
    let bytes = documents::content(&st.db, &st.config.document_store(), doc).await?;
    Ok(attachment(&doc.media_type, &doc.file_name, bytes))
}

/// A stored file sent as an attachment (never shown inline, never sniffed).
pub(crate) fn attachment(media_type: &str, file_name: &str, bytes: Vec<u8>) -> Response {
    let kind = document::DocumentKind::from_media_type(media_type)
        .map(|k| k.media_type())
        .unwrap_or("application/octet-stream");
    (
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    document::safe_file_name(file_name)
                ),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

async fn download(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let doc = documents::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    send(&st, &doc).await
}

async fn delete(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let doc = documents::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    documents::delete(
        &st.db,
        &st.config.document_store(),
        &user.actor(),
        tc.territory.id,
        id,
    )
    .await?;
    let to = match doc.action_id {
        Some(a) => Section::Documents.url(&tc.territory.slug, a),
        None => format!(
            "/admin/t/{}/contrats/{}#documents",
            tc.territory.slug, doc.contract_id
        ),
    };
    Ok(Redirect::to(&to).into_response())
}

async fn public_download(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let doc = documents::get(&st.db, t.id, id)
        .await?
        .filter(|d| d.public)
        .ok_or(AppError::NotFound)?;
    send(&st, &doc).await
}
