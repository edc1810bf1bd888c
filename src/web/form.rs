//! One flow for every back-office form: parse → save → flash and redirect,
//! or show the form again.
//!
//! A handler keeps the raw form struct (what was typed, all `String`s) and
//! hands [`submit`] four steps as closures:
//!
//! - `parse(&typed)`: the domain input, or messages per field;
//! - `save(input)`: the write; it answers `Err(Failed::Stale)` (any
//!   `DbError::Stale` through `?`) when the row changed since the form was
//!   built, `Err(Failed::Refused(..))` when the data refuses a valid input;
//! - `done(saved)`: the answer after a save, usually
//!   [`flash::see_other`](super::flash::see_other) (a 303 with « Enregistré »);
//! - `show(again)`: the page with the form, given a [`Redisplay`]: what was
//!   typed, the messages and the status. After a stale save
//!   (`again.stale`) the page shows both the stored values (it reloads the
//!   row) and what was typed, and the next save starts from the stored
//!   version.
//!
//! Statuses: 422 for input that does not parse, 409 for a stale version
//! (with the message `stale.1` under the field `stale.0`; an empty message
//! when the page says it in its own words) and for refusals the caller
//! marks so, 303 after a save. Errors other than these become the usual
//! error page.
//!
//! ```ignore
//! form::submit(
//!     typed,
//!     |f| f.parse().map_err(FormErrors),
//!     async |input| Ok(store::update_body(&st.db, &actor, t.id, id, version, &input).await?),
//!     ("name", STALE_BODY),
//!     |b| flash::see_other(&format!("/admin/t/{}/instances/{}", t.slug, b.id), "Instance enregistrée."),
//!     async |again| body_page(&st, &ctx, &tc, again).await,
//! )
//! .await
//! ```

use axum::http::StatusCode;
use axum::response::Response;

use super::error::AppError;
use super::pages::FormErrors;
use crate::storage::DbError;

/// Why a save did not happen.
#[derive(Debug)]
pub enum Failed {
    /// The row changed since the form was built (optimistic `version`).
    Stale,
    /// The data refuses this (valid) input: the messages, shown with the
    /// status (409 when the stored state forbids it, 422 for the input).
    Refused(StatusCode, FormErrors),
    /// Anything else: an error page.
    Error(AppError),
}

impl From<DbError> for Failed {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Stale => Failed::Stale,
            e => Failed::Error(e.into()),
        }
    }
}

impl From<AppError> for Failed {
    fn from(e: AppError) -> Self {
        Failed::Error(e)
    }
}

/// A form shown again after a failed submission.
pub struct Redisplay<F> {
    /// What was typed, untouched.
    pub typed: F,
    /// The messages (summary and per field).
    pub errors: FormErrors,
    /// 422, or 409 (stale version, refused by the stored state).
    pub status: StatusCode,
    /// The save found a newer stored version: show it beside `typed`.
    pub stale: bool,
}

impl<F> Redisplay<F> {
    /// A redisplay for checks made outside [`submit`] (422).
    pub fn invalid(typed: F, errors: FormErrors) -> Self {
        Redisplay {
            typed,
            errors,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            stale: false,
        }
    }
}

/// Run one submitted form through parse → save → done, or show it again.
/// See the module documentation.
pub async fn submit<F, I, S>(
    typed: F,
    parse: impl FnOnce(&F) -> Result<I, FormErrors>,
    save: impl AsyncFnOnce(I) -> Result<S, Failed>,
    stale: (&'static str, &str),
    done: impl FnOnce(S) -> Response,
    show: impl AsyncFnOnce(Redisplay<F>) -> Result<Response, AppError>,
) -> Result<Response, AppError> {
    let input = match parse(&typed) {
        Ok(input) => input,
        Err(errors) => return show(Redisplay::invalid(typed, errors)).await,
    };
    match save(input).await {
        Ok(saved) => Ok(done(saved)),
        Err(Failed::Stale) => {
            let mut errors = FormErrors::default();
            if !stale.1.is_empty() {
                errors.push(stale.0, stale.1);
            }
            show(Redisplay {
                typed,
                errors,
                status: StatusCode::CONFLICT,
                stale: true,
            })
            .await
        }
        Err(Failed::Refused(status, errors)) => {
            show(Redisplay {
                typed,
                errors,
                status,
                stale: false,
            })
            .await
        }
        Err(Failed::Error(e)) => Err(e),
    }
}

/// The `stale` argument of a form without a version (a creation): its save
/// is never stale.
pub const UNVERSIONED: (&str, &str) = ("", "");

/// The `version` field of a form: the number the form was built from (0
/// when missing or unreadable, which is then always stale).
pub fn version(raw: &str) -> i64 {
    raw.trim().parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    /// What `show` was given: stale, the typed value, the fields with messages.
    type Shown = (bool, String, Vec<&'static str>);

    fn run(parse_ok: bool, save: Result<u8, Failed>) -> (StatusCode, Option<Shown>) {
        let shown = std::cell::RefCell::new(None);
        let resp = block_on(submit(
            "typed".to_owned(),
            |_| {
                if parse_ok {
                    Ok(())
                } else {
                    let mut e = FormErrors::default();
                    e.push("name", "Nom manquant.");
                    Err(e)
                }
            },
            async |()| save,
            ("title", "Modifié entre-temps."),
            |_| StatusCode::SEE_OTHER.into_response(),
            async |again: Redisplay<String>| {
                *shown.borrow_mut() = Some((
                    again.stale,
                    again.typed,
                    again.errors.all().iter().map(|(f, _)| *f).collect(),
                ));
                Ok(again.status.into_response())
            },
        ))
        .unwrap();
        (resp.status(), shown.into_inner())
    }

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn each_outcome_has_its_status_and_keeps_the_input() {
        assert_eq!(run(true, Ok(1)), (StatusCode::SEE_OTHER, None));
        let (s, shown) = run(false, Ok(1));
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(shown, Some((false, "typed".into(), vec!["name"])));
        let (s, shown) = run(true, Err(DbError::Stale.into()));
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(shown, Some((true, "typed".into(), vec!["title"])));
        let mut e = FormErrors::default();
        e.push("q", "Refusé.");
        let (s, shown) = run(true, Err(Failed::Refused(StatusCode::CONFLICT, e)));
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(shown, Some((false, "typed".into(), vec!["q"])));
    }
}
