//! Background work: the import jobs queued from the back office. `serve`
//! polls the queue; tests call [`run_pending`] directly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::import::{finess, finess_plus, geo, population, rpps, travel_times, ImportError};
use crate::storage::{jobs, Db};

/// Said after a directory import that changed nothing, instead of
/// recomputing the diagnosis' accessibility (the command line says it too).
pub const UNCHANGED_DIRECTORY: &str = "Annuaire inchangé : l'accessibilité n'est pas recalculée.";

/// Run every queued job, one after the other. Returns how many ran.
pub async fn run_pending(db: &Db, worker: &str) -> anyhow::Result<usize> {
    let mut ran = 0;
    while let Some(job) = jobs::claim(db, worker).await? {
        ran += 1;
        let latest: Arc<Mutex<(String, u64, u64)>> = Arc::default();
        // Progress is written to the database once a second, not per line.
        let ticker = {
            let (db, latest, id) = (db.clone(), latest.clone(), job.id);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let (stage, done, total) = latest.lock().map(|l| l.clone()).unwrap_or_default();
                    if !stage.is_empty() {
                        let _ = jobs::progress(&db, id, &stage, done as i64, total as i64).await;
                    }
                }
            })
        };
        let report = |stage: &str, done: u64, total: u64| {
            if let Ok(mut l) = latest.lock() {
                *l = (stage.to_owned(), done, total);
            }
        };
        // FiNESS+ and RPPS are read from the file as a stream; the others whole.
        let read = if job.source == "finess-plus" || job.source == "rpps" {
            Ok(Vec::new())
        } else {
            tokio::fs::read(&job.file_path).await
        };
        let outcome = match read {
            Err(e) => Err(format!("fichier illisible : {e}")),
            Ok(bytes) => {
                let result = match job.source.as_str() {
                    "rpps" => {
                        // With the extraction's « Savoir-faire » file, when sent.
                        let sf = (!job.savoir_faire_path.is_empty())
                            .then(|| std::path::Path::new(&job.savoir_faire_path));
                        rpps::import_file(
                            db,
                            std::path::Path::new(&job.file_path),
                            sf,
                            &report,
                            job.forced,
                        )
                        .await
                    }
                    "finess-plus" => match std::fs::File::open(&job.file_path) {
                        Ok(f) => {
                            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                            finess_plus::import_with(db, f, size, &report, job.forced).await
                        }
                        Err(e) => Err(ImportError::Io(e)),
                    },
                    // Reference data: small files, no progress, no warnings.
                    "geo" => geo::import(db, &bytes).await.map(|s| (s, Vec::new())),
                    "population" => population::import(db, &bytes)
                        .await
                        .map(|s| (s, Vec::new())),
                    "travel-times" => travel_times::import(db, &bytes)
                        .await
                        .map(|s| (s, Vec::new())),
                    _ => finess::import_with(db, &bytes, &report, job.forced).await,
                };
                match result {
                    Ok((s, warnings)) => {
                        let mut msg = format!("{}.", crate::import::Summary::from(&s).counts());
                        for w in warnings.iter().take(crate::import::MAX_REPORTED) {
                            msg.push_str(&format!("\n{w}"));
                        }
                        // The diagnosis follows the registers it is computed from,
                        // unless a directory file changed nothing (the same
                        // extraction again), as on the command line.
                        let directory =
                            matches!(job.source.as_str(), "rpps" | "finess" | "finess-plus");
                        if directory && s.added + s.changed + s.removed == 0 {
                            msg.push_str(
                                "\nAnnuaire inchangé : l'accessibilité n'est pas recalculée.",
                            );
                        } else if let Some(r) = crate::diagnosis::refresh_after_import(db).await {
                            msg.push_str(&format!("\n{}", r.line()));
                        }
                        Ok(msg)
                    }
                    Err(ImportError::Invalid(lines)) => Err(format!(
                        "Fichier refusé, rien n'a été importé :\n{}",
                        lines
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("\n")
                    )),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        ticker.abort();
        let _ = tokio::fs::remove_file(&job.file_path).await;
        if !job.savoir_faire_path.is_empty() {
            let _ = tokio::fs::remove_file(&job.savoir_faire_path).await;
        }
        match outcome {
            Ok(msg) => jobs::finish(db, job.id, true, &msg).await?,
            Err(msg) => jobs::finish(db, job.id, false, &msg).await?,
        }
    }
    Ok(ran)
}

/// Poll the queue until `shutdown` fires.
pub async fn worker_loop(db: Db, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let name = format!(
        "{}-{}",
        std::process::id(),
        crate::tokens::random_token().get(..6).unwrap_or("w")
    );
    loop {
        if let Err(e) = run_pending(&db, &name).await {
            tracing::error!(error = ?e, "import job failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = shutdown.changed() => break,
        }
    }
}
