//! Signing in and out, the dashboard, changing and resetting a password.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::header::RETRY_AFTER;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::accounts::{self, check_password, token_hash, verify_password, DUMMY_HASH};
use crate::domain::codes::Email;
use crate::domain::roles::Role;
use crate::storage::{rate_limit, territories, users};
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::public::{territory_items, TerritoryItem};
use crate::web::redirect::{self, local_or};
use crate::web::session::{self, SignedIn};
use crate::web::AppState;

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    l: Layout,
    csrf: String,
    email: String,
    suite: String,
    errors: FormErrors,
    reset_done: bool,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    suite: Option<String>,
    reinitialise: Option<String>,
}

pub async fn login_form(ctx: Ctx, Query(q): Query<LoginQuery>) -> Response {
    if ctx.user.is_some() {
        return redirect::see_other(&local_or(q.suite.as_deref(), "/admin/"));
    }
    render(&LoginPage {
        l: ctx.admin_layout("Connexion"),
        csrf: ctx.csrf(),
        email: String::new(),
        suite: local_or(q.suite.as_deref(), "/admin/"),
        errors: FormErrors::default(),
        reset_done: q.reinitialise.is_some(),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    suite: Option<String>,
}

/// The client's address: the peer, or, when the instance trusts its reverse
/// proxy, the last `X-Forwarded-For` hop: the address the proxy saw (nginx's
/// `$proxy_add_x_forwarded_for` appends it to whatever the client sent, so
/// the first hop is the client's own claim and would let anyone pick a new
/// address per request to dodge the rate limits).
pub(crate) fn client_ip(st: &AppState, peer: SocketAddr, headers: &HeaderMap) -> String {
    forwarded_ip(st.config.trust_proxy, peer, headers)
}

fn forwarded_ip(trust_proxy: bool, peer: SocketAddr, headers: &HeaderMap) -> String {
    if trust_proxy {
        let last = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|hop| !hop.is_empty());
        if let Some(last) = last {
            return last.to_owned();
        }
    }
    peer.ip().to_string()
}

/// Rate-limit keys are keyed hashes: no address or e-mail is stored in clear.
fn rate_key(st: &AppState, what: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&st.secret).expect("any key length");
    mac.update(what.as_bytes());
    crate::web::session::b64(&mac.finalize().into_bytes()[..16])
}

pub async fn login(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: Ctx,
    Form(f): Form<LoginForm>,
) -> Result<Response, AppError> {
    let suite = local_or(f.suite.as_deref(), "/admin/");
    let email = f.email.trim().to_lowercase();
    let page = |status: StatusCode, msg: &str| {
        let mut errors = FormErrors::default();
        errors.push("email", msg);
        (
            status,
            render(&LoginPage {
                l: ctx.admin_layout("Connexion"),
                csrf: ctx.csrf(),
                email: f.email.clone(),
                suite: suite.clone(),
                errors,
                reset_done: false,
            }),
        )
            .into_response()
    };
    if Email::parse(&email).is_err() || f.password.is_empty() {
        return Ok(page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Saisissez votre adresse e-mail et votre mot de passe.",
        ));
    }
    let ip_key = rate_key(&st, &format!("ip:{}", client_ip(&st, peer, &headers)));
    let account_key = rate_key(&st, &format!("account:{email}"));
    let window = st.config.login_window;
    let too_many = |retry_after_secs: i64| {
        let minutes = (retry_after_secs + 59) / 60;
        let mut resp = page(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Trop de tentatives de connexion. Par sécurité, réessayez dans {minutes} minute{}.",
                if minutes > 1 { "s" } else { "" }
            ),
        );
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
        resp
    };
    // Each attempt is counted before the password is checked, in one step
    // with the check (see `rate_limit::acquire`): parallel attempts cannot
    // all slip under the limit. A right password gives its attempt back.
    let account_hit = match rate_limit::acquire(
        &st.db,
        LOGIN_ACCOUNT,
        &account_key,
        window,
        st.config.login_attempts,
    )
    .await?
    {
        rate_limit::Acquired::Yes(at) => at,
        rate_limit::Acquired::No { retry_after_secs } => return Ok(too_many(retry_after_secs)),
    };
    // The address limit is for password spraying over many accounts; a
    // browser that signed into this account before (device cookie) is not
    // held back by the others tried from its address.
    let known_device =
        session::cookie(&headers, DEVICE_COOKIE).is_some_and(|v| v == device_value(&st, &email));
    let address_hit = if known_device {
        None
    } else {
        match rate_limit::acquire(
            &st.db,
            LOGIN_ADDRESS,
            &ip_key,
            window,
            st.config.login_address_attempts,
        )
        .await?
        {
            rate_limit::Acquired::Yes(at) => Some(at),
            rate_limit::Acquired::No { retry_after_secs } => {
                rate_limit::release(&st.db, LOGIN_ACCOUNT, &account_key, account_hit).await?;
                return Ok(too_many(retry_after_secs));
            }
        }
    };
    let creds = users::credentials(&st.db, &email).await?;
    let hash = creds
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_owned());
    let ok = verify_password(f.password.clone(), hash).await;
    match creds {
        Some(c) if ok && !c.disabled => {
            rate_limit::clear(&st.db, LOGIN_ACCOUNT, &account_key).await?;
            if let Some(at) = address_hit {
                rate_limit::release(&st.db, LOGIN_ADDRESS, &ip_key, at).await?;
            }
            let cookie = session::open(&st, c.id).await?;
            let device = session::set_cookie(
                DEVICE_COOKIE,
                &device_value(&st, &email),
                365 * 24 * 3600,
                st.config.cookie_secure,
            );
            let mut resp = redirect::see_other(&suite);
            resp.headers_mut().append(SET_COOKIE, cookie);
            resp.headers_mut().append(SET_COOKIE, device);
            Ok(resp)
        }
        _ => Ok(page(
            StatusCode::UNAUTHORIZED,
            "Adresse e-mail ou mot de passe incorrect.",
        )),
    }
}

/// Rate-limit buckets of the login form.
const LOGIN_ACCOUNT: &str = "login";
const LOGIN_ADDRESS: &str = "login-address";

/// A browser that signed into an account keeps this cookie: a keyed hash of
/// the account's e-mail, so it names no one and cannot be forged.
const DEVICE_COOKIE: &str = "maillage_appareil";

fn device_value(st: &AppState, email: &str) -> String {
    rate_key(st, &format!("device:{email}"))
}

pub async fn logout(
    State(st): State<AppState>,
    SignedIn(user): SignedIn,
) -> Result<Response, AppError> {
    let clear = session::close(&st, &user).await?;
    Ok((
        StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, "/".to_owned())],
        [clear],
    )
        .into_response())
}

pub struct MembershipRow {
    pub slug: String,
    pub name: String,
    pub role_label: &'static str,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    l: Layout,
    name: String,
    memberships: Vec<MembershipRow>,
    all_territories: bool,
    is_admin: bool,
    territories: Vec<TerritoryItem>,
    csrf: String,
    /// Invitations waiting for this account: (id, territory, role).
    invitations: Vec<(i64, String, &'static str)>,
}

pub async fn dashboard(
    State(st): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
) -> Result<Response, AppError> {
    let memberships = user
        .memberships
        .iter()
        .map(|m| MembershipRow {
            slug: m.slug.clone(),
            name: m.name.clone(),
            role_label: m.role().map(Role::label).unwrap_or("?"),
        })
        .collect();
    let all = user.reads_everything();
    let territories = if all {
        territory_items(territories::list(&st.db).await?)
    } else {
        Vec::new()
    };
    let invitations = crate::storage::invitations::for_email(&st.db, &user.user.email)
        .await?
        .into_iter()
        .map(|i| {
            let role = i.role().map(Role::label).unwrap_or("?");
            (i.id, i.territory_name, role)
        })
        .collect::<Vec<_>>();
    // Someone with one territory (no regional view, no invitation waiting
    // for an answer here) lands on it.
    if let ([only], false, true) = (user.memberships.as_slice(), all, invitations.is_empty()) {
        return Ok(Redirect::to(&format!("/admin/t/{}/", only.slug)).into_response());
    }
    Ok(render(&DashboardPage {
        csrf: ctx.csrf(),
        invitations,
        l: ctx.admin_layout("Tableau de bord"),
        name: user.user.display_name.clone(),
        memberships,
        all_territories: all,
        is_admin: user.is_admin(),
        territories,
    }))
}

#[derive(Template)]
#[template(path = "admin/password.html")]
struct PasswordPage {
    l: Layout,
    csrf: String,
    action: String,
    reset: bool,
    done: bool,
    errors: FormErrors,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

fn check_new(f: &PasswordForm, errors: &mut FormErrors) {
    if let Err(e) = check_password(&f.new) {
        errors.push("new", capitalise(&e.0));
    } else if f.new != f.confirm {
        errors.push(
            "confirm",
            "Les deux saisies du nouveau mot de passe sont différentes.",
        );
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

pub async fn password_form(ctx: Ctx) -> Response {
    render(&PasswordPage {
        l: ctx.admin_layout("Mot de passe"),
        csrf: ctx.csrf(),
        action: "/admin/mot-de-passe".into(),
        reset: false,
        done: false,
        errors: FormErrors::default(),
    })
}

pub async fn password_change(
    State(st): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    let hash = users::password_hash(&st.db, user.user.id).await?;
    if !verify_password(f.current.clone(), hash).await {
        errors.push("current", "Le mot de passe actuel est incorrect.");
    }
    check_new(&f, &mut errors);
    let done = errors.is_empty();
    if done {
        let new_hash = accounts::hash_password(f.new.clone()).await?;
        users::set_password(
            &st.db,
            &user.actor(),
            user.user.id,
            &new_hash,
            Some(&user.session_hash),
        )
        .await?;
    }
    let status = if done {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        render(&PasswordPage {
            l: ctx.admin_layout("Mot de passe"),
            csrf: ctx.csrf(),
            action: "/admin/mot-de-passe".into(),
            reset: false,
            done,
            errors,
        }),
    )
        .into_response())
}

fn expired_link() -> AppError {
    AppError::BadRequest(
        "Ce lien de réinitialisation a expiré ou a déjà servi. Demandez-en un nouveau à la coordination \
         ou à l'administration."
            .into(),
    )
}

pub async fn reset_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if users::reset_user(&st.db, &token_hash(&token))
        .await?
        .is_none()
    {
        return Err(expired_link());
    }
    Ok(render(&PasswordPage {
        l: ctx.admin_layout("Nouveau mot de passe"),
        csrf: ctx.csrf(),
        action: format!(
            "/admin/reinitialisation/{}",
            crate::web::pages::url_encode(&token)
        ),
        reset: true,
        done: false,
        errors: FormErrors::default(),
    }))
}

pub async fn reset(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    check_new(&f, &mut errors);
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&PasswordPage {
                l: ctx.admin_layout("Nouveau mot de passe"),
                csrf: ctx.csrf(),
                action: format!(
                    "/admin/reinitialisation/{}",
                    crate::web::pages::url_encode(&token)
                ),
                reset: true,
                done: false,
                errors,
            }),
        )
            .into_response());
    }
    let new_hash = accounts::hash_password(f.new.clone()).await?;
    if !users::consume_reset(&st.db, &token_hash(&token), &new_hash).await? {
        return Err(expired_link());
    }
    Ok(Redirect::to("/admin/connexion?reinitialise=1").into_response())
}

#[cfg(test)]
mod tests {
    use super::forwarded_ip;
    use axum::http::HeaderMap;

    #[test]
    fn the_proxy_added_hop_is_the_client() {
        let peer = "10.0.0.2:5000".parse().unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(forwarded_ip(true, peer, &h), "10.0.0.2");
        // The client forged a first hop; the proxy appended what it saw.
        h.insert(
            "x-forwarded-for",
            "203.0.113.7, 198.51.100.4".parse().unwrap(),
        );
        assert_eq!(forwarded_ip(true, peer, &h), "198.51.100.4");
        assert_eq!(forwarded_ip(false, peer, &h), "10.0.0.2");
        h.append("x-forwarded-for", "192.0.2.9 ".parse().unwrap());
        assert_eq!(forwarded_ip(true, peer, &h), "192.0.2.9");
        h.insert("x-forwarded-for", " , ".parse().unwrap());
        assert_eq!(forwarded_ip(true, peer, &h), "10.0.0.2");
    }
}
