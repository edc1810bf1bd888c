//! Open-data imports from the back office (admin): upload, queue, progress.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;

use crate::accounts::random_token;
use crate::domain::dates;
use crate::storage::jobs::{self, Job, SavedFile};
use crate::web::error::{ApiError, ApiErrorBody, AppError};
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::session::SignedIn;
use crate::web::AppState;

/// The kinds of file the back office imports (the `source` of a job).
pub const SOURCES: [&str; 6] = [
    "finess-plus",
    "finess",
    "rpps",
    "geo",
    "population",
    "travel-times",
];

pub struct JobView {
    pub id: i64,
    pub source: String,
    pub file_name: String,
    /// The RPPS savoir-faire file sent with it, or empty.
    pub savoir_faire_name: String,
    pub state: String,
    pub running: bool,
    pub created_by: String,
    pub created_at: String,
    pub message: String,
}

/// « En cours : enregistrement, 40 % », « Terminé », « Refusé »…
pub fn state_of(j: &Job) -> String {
    match j.status.as_str() {
        "queued" => "En attente".to_owned(),
        "running" if j.total > 0 => {
            format!(
                "En cours : {} ({} %)",
                j.stage,
                (j.done * 100 / j.total.max(1)).min(100)
            )
        }
        "running" => "En cours".to_owned(),
        "done" => "Terminé".to_owned(),
        _ => "Refusé ou interrompu".to_owned(),
    }
}

#[derive(Template)]
#[template(path = "admin/imports.html")]
struct ImportsPage {
    l: Layout,
    csrf: String,
    errors: FormErrors,
    jobs: Vec<JobView>,
}

async fn page(
    st: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let jobs = jobs::recent(&st.db, 20)
        .await?
        .into_iter()
        .map(|j| JobView {
            state: state_of(&j),
            running: j.status == "running" || j.status == "queued",
            id: j.id,
            source: j.source,
            file_name: j.file_name,
            savoir_faire_name: j.savoir_faire_name,
            created_by: j.created_by,
            created_at: dates::paris_datetime(j.created_at),
            message: j.message,
        })
        .collect();
    Ok((
        status,
        render(&ImportsPage {
            l: ctx.admin_layout("Imports"),
            csrf: ctx.csrf(),
            errors,
            jobs,
        }),
    )
        .into_response())
}

pub async fn index(State(st): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    page(&st, &ctx, StatusCode::OK, FormErrors::default()).await
}

/// Stream one uploaded file to the upload directory: (its name as sent,
/// where it is, its size). A cut upload (too large, client gone) leaves
/// nothing behind.
async fn save_upload(
    st: &AppState,
    field: &mut axum::extract::multipart::Field<'_>,
) -> Result<(SavedFile, u64), AppError> {
    let name: String = field
        .file_name()
        .unwrap_or("fichier")
        .chars()
        .take(120)
        .collect();
    tokio::fs::create_dir_all(&st.config.upload_dir)
        .await
        .map_err(anyhow::Error::from)?;
    let path = st
        .config
        .upload_dir
        .join(format!("import-{}.dat", random_token()));
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(anyhow::Error::from)?;
    let mut size = 0u64;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                size += chunk.len() as u64;
                file.write_all(&chunk).await.map_err(anyhow::Error::from)?;
            }
            Ok(None) => break,
            Err(_) => {
                let _ = tokio::fs::remove_file(&path).await;
                return Err(AppError::TooLarge);
            }
        }
    }
    file.flush().await.map_err(anyhow::Error::from)?;
    Ok((
        SavedFile {
            name,
            path: path.to_string_lossy().into_owned(),
        },
        size,
    ))
}

/// Stream the upload (and the RPPS savoir-faire file, if sent) to the
/// upload directory, then queue the job.
pub async fn upload(
    State(st): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    mut form: Multipart,
) -> Result<Response, AppError> {
    let mut source = String::new();
    let mut forced = false;
    let mut saved: Vec<SavedFile> = Vec::new();
    let mut file: Option<(SavedFile, u64)> = None;
    let mut savoir_faire: Option<(SavedFile, u64)> = None;
    let mut errors = FormErrors::default();
    let too_big = || AppError::TooLarge;
    let outcome: Result<(), AppError> = async {
        while let Some(mut field) = form.next_field().await.map_err(|_| too_big())? {
            match field.name() {
                Some("source") => source = field.text().await.map_err(|_| too_big())?,
                Some("forcer") => forced = !field.text().await.map_err(|_| too_big())?.is_empty(),
                Some(which @ ("file" | "savoir_faire")) => {
                    let main = which == "file";
                    let (f, size) = save_upload(&st, &mut field).await?;
                    saved.push(f.clone());
                    if main {
                        file = Some((f, size));
                    } else if size > 0 {
                        savoir_faire = Some((f, size));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
    .await;
    let remove_saved = |saved: Vec<SavedFile>| async move {
        for f in saved {
            let _ = tokio::fs::remove_file(&f.path).await;
        }
    };
    if let Err(e) = outcome {
        remove_saved(saved).await;
        return Err(e);
    }
    if !SOURCES.contains(&source.as_str()) {
        errors.push("source", "Choisissez le type de fichier.");
    }
    match &file {
        Some((_, size)) if *size > 0 => {}
        _ => errors.push("file", "Choisissez un fichier à importer."),
    }
    if savoir_faire.is_some() && source != "rpps" {
        errors.push(
            "savoir_faire",
            "Le fichier Savoir-faire accompagne une extraction RPPS : choisissez « RPPS » ou retirez-le.",
        );
    }
    let Some((file, _)) = file.filter(|_| errors.is_empty()) else {
        remove_saved(saved).await;
        return page(&st, &ctx, StatusCode::UNPROCESSABLE_ENTITY, errors).await;
    };
    // Only the files kept by the job stay on disk.
    let sf = savoir_faire.map(|(f, _)| f);
    remove_saved(
        saved
            .into_iter()
            .filter(|f| f.path != file.path && sf.as_ref().is_none_or(|s| s.path != f.path))
            .collect(),
    )
    .await;
    jobs::enqueue(
        &st.db,
        &source,
        &file,
        sf.as_ref(),
        &user.actor().label,
        forced,
    )
    .await?;
    Ok(Redirect::to("/admin/annuaire/imports").into_response())
}

/// An import job and where it is.
#[derive(Serialize, ToSchema)]
pub struct JobOut {
    #[serde(flatten)]
    pub job: Job,
    /// The state in words, for people.
    pub state: String,
}

#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "directory",
    params(("id" = i64, Path, description = "Numéro de l'import")),
    responses((status = 200, body = JobOut), (status = 401, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn status(
    State(st): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<JobOut>, ApiError> {
    let job = jobs::get(&st.db, id).await?.ok_or(AppError::NotFound)?;
    Ok(Json(JobOut {
        state: state_of(&job),
        job,
    }))
}
