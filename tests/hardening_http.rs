//! The failures found when the release was attacked (issue 15), each one a
//! test, on SQLite and PostgreSQL where storage is involved.

mod common;

use common::{csrf_from, extract_csrf, Backend, TestApp};
use maillage::config::Config;

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name}"))
        + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

async fn wrong_password(
    app: &TestApp,
    c: &reqwest::Client,
    token: &str,
    email: &str,
) -> reqwest::Response {
    c.post(app.url("/admin/connexion"))
        .form(&[
            ("_csrf", token),
            ("email", email),
            ("password", "mauvais mot de passe"),
        ])
        .send()
        .await
        .unwrap()
}

/// 40 wrong passwords sent at once for one account: only the limit's worth
/// are checked, the others are refused with 429 and `Retry-After`.
async fn parallel_logins_respect_the_limit(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.client();
    let token = csrf_from(&c, &app.url("/admin/connexion")).await;
    let email = app.account("partner").email.clone();
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (c, url, token, email) = (
            c.clone(),
            app.url("/admin/connexion"),
            token.clone(),
            email.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = c
                .post(url)
                .form(&[
                    ("_csrf", token.as_str()),
                    ("email", email.as_str()),
                    ("password", "mauvais mot de passe"),
                ])
                .send()
                .await
                .unwrap();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (r.status().as_u16(), retry)
        }));
    }
    let mut checked = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            (401, _) => checked += 1,
            (429, Some(secs)) => {
                let secs: i64 = secs.parse().unwrap();
                assert!(secs > 0 && secs <= 15 * 60, "Retry-After {secs}");
                refused += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((checked, refused), (5, 35));
    app.stop().await;
}
both!(parallel_logins_respect_the_limit);

/// An address that tried many accounts is held back, but a browser that
/// signed into its own account before still signs in with the right password.
async fn an_address_over_its_limit_does_not_lock_out_known_browsers(backend: Backend) {
    let config = Config {
        login_address_attempts: 6,
        ..Default::default()
    };
    let app = TestApp::start_with(backend, config).await;
    // The coordinator signed in from this browser last week.
    let known = app.login("coordinator").await;
    let r = known
        .post(app.url("/admin/deconnexion"))
        .form(&[(
            "_csrf",
            csrf_from(&known, &app.url("/admin/mot-de-passe")).await,
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Someone at the same address sprays wrong passwords over accounts.
    let attacker = app.client();
    let token = csrf_from(&attacker, &app.url("/admin/connexion")).await;
    for key in ["partner", "member", "inhabitant"] {
        let email = app.account(key).email.clone();
        for _ in 0..2 {
            assert_eq!(
                wrong_password(&app, &attacker, &token, &email)
                    .await
                    .status(),
                401
            );
        }
    }
    let r = wrong_password(&app, &attacker, &token, &app.account("admin").email).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // A new browser at that address waits, right password or not...
    let fresh = app.client();
    let t = csrf_from(&fresh, &app.url("/admin/connexion")).await;
    let r = fresh
        .post(app.url("/admin/connexion"))
        .form(&[
            ("_csrf", t.as_str()),
            ("email", app.account("regional").email.as_str()),
            ("password", common::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // ...but the coordinator's own browser signs in.
    let t = csrf_from(&known, &app.url("/admin/connexion")).await;
    let r = known
        .post(app.url("/admin/connexion"))
        .form(&[
            ("_csrf", t.as_str()),
            ("email", app.account("coordinator").email.as_str()),
            ("password", common::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    app.stop().await;
}
both!(an_address_over_its_limit_does_not_lock_out_known_browsers);

/// The idea box allows 10 proposals per address in ten minutes, even when
/// 40 arrive at once.
async fn parallel_ideas_respect_the_limit(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        Config {
            form_min_fill_secs: 0,
            ..Default::default()
        },
    )
    .await;
    let c = app.client();
    let html = c
        .get(app.url("/t/lens-lievin/idees"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_csrf(&html).unwrap();
    let stamp = field(&html, "_t");
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (c, url, csrf, stamp) = (
            c.clone(),
            app.url("/t/lens-lievin/idees"),
            csrf.clone(),
            stamp.clone(),
        );
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .form(&[
                    ("_csrf", csrf.as_str()),
                    ("_t", stamp.as_str()),
                    ("site_web", ""),
                    ("kind", "idea"),
                    ("text", &format!("Idée numéro {i}")),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        let s = t.await.unwrap();
        assert!(s == 200 || s == 429, "status {s}");
        accepted += usize::from(s == 200);
    }
    assert_eq!(accepted, 10);
    let lens = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let ideas = maillage::storage::participation::list_ideas(&app.db, lens.id, false)
        .await
        .unwrap();
    assert_eq!(ideas.len(), 10);
    app.stop().await;
}
both!(parallel_ideas_respect_the_limit);

/// `retour=` of the display preferences: a tab, a CR/LF or a backslash
/// never turns into another host nor a server error.
#[tokio::test]
async fn preference_redirects_stay_on_the_site() {
    let app = TestApp::start(Backend::Sqlite).await;
    let c = app.client();
    for (target, expected) in [
        ("/%09/evil.example", "/"),
        ("/%0d/x", "/"),
        ("/%0d%0aSet-Cookie:%20x=1", "/"),
        ("%2F%2Fevil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("/t/lens-lievin/agenda", "/t/lens-lievin/agenda"),
    ] {
        let r = c
            .get(app.url(&format!("/preferences?contraste=oui&retour={target}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{target}");
        assert_eq!(r.headers()["location"], expected, "{target}");
    }
    app.stop().await;
}

/// `suite=` of the login form: the same check, and a refused target goes to
/// the dashboard with the session cookie sent.
async fn login_redirects_stay_on_the_site(backend: Backend) {
    let app = TestApp::start(backend).await;
    for suite in [
        "/\t/evil.example",
        "/\r/x",
        "/\r\nX: y",
        "//evil.example",
        "/\\evil",
    ] {
        let c = app.client();
        let token = csrf_from(&c, &app.url("/admin/connexion")).await;
        let r = c
            .post(app.url("/admin/connexion"))
            .form(&[
                ("_csrf", token.as_str()),
                ("email", app.account("partner").email.as_str()),
                ("password", common::PASSWORD),
                ("suite", suite),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{suite:?}");
        assert_eq!(r.headers()["location"], "/admin/", "{suite:?}");
        assert!(r
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("maillage_session=")));
        // Already signed in: the login page sends on, to the same place.
        let r = c
            .get(app.url("/admin/connexion"))
            .query(&[("suite", suite)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/admin/", "{suite:?}");
    }
    // Shown on the form: a refused target is not carried in the hidden field.
    let c = app.client();
    let html = c
        .get(app.url("/admin/connexion?suite=/%09/evil.example"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"suite\" value=\"/admin/\""));
    app.stop().await;
}
both!(login_redirects_stay_on_the_site);

/// An anonymous page over the micro-cache's size cap is served whole (it
/// came back empty), the second time too.
#[tokio::test]
async fn large_anonymous_pages_are_served_whole() {
    let config = Config {
        public_cache_ttl: std::time::Duration::from_secs(600),
        ..Default::default()
    };
    let app = TestApp::start_with(Backend::Sqlite, config).await;
    let long = format!(
        "{}Fin de la présentation.",
        "Une présentation très longue. ".repeat(25_000)
    );
    maillage::db_run!(&app.db, pool => sqlx::query("UPDATE territories SET presentation = $1 WHERE slug = $2")
        .bind(&long).bind("lens-lievin").execute(pool).await.map(|_| ()).unwrap());
    let anon = app.client();
    for _ in 0..2 {
        let r = anon.get(app.url("/t/lens-lievin/")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body = r.text().await.unwrap();
        assert!(body.len() > 700 * 1024, "{} bytes", body.len());
        assert!(body.contains("Fin de la présentation."));
    }
    app.stop().await;
}
