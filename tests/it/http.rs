//! The real server on port 0, driven over HTTP, on SQLite and PostgreSQL.

use crate::common;

use common::{csrf_from, extract_csrf, Backend, TestApp};
use maillage::domain::roles::Role;
use maillage::web::access::Access;
use reqwest::StatusCode;

fn field_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("field") + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

const ROLES: [&str; 8] = [
    "anonymous",
    "inhabitant",
    "member",
    "partner",
    "coordinator",
    "other_coordinator",
    "regional",
    "admin",
];

/// Would `role` pass `access` on the demo territory (lens-lievin)?
fn allowed(access: Access, role: &str, method: &reqwest::Method) -> bool {
    let reading = method == reqwest::Method::GET;
    let territory_role = match role {
        "member" => Some(Role::Member),
        "partner" => Some(Role::Partner),
        "coordinator" => Some(Role::Coordinator),
        _ => None,
    };
    match access {
        Access::Public => true,
        // Metrics are off by default (404 for everyone); on, the test
        // clients are loopback callers.
        Access::Monitoring => true,
        // The secret in the path is the check (404 without it).
        Access::Hook => true,
        Access::SignedIn => role != "anonymous",
        Access::Admin => role == "admin",
        Access::Regional => matches!(role, "regional" | "admin"),
        Access::Territory(min) => {
            role == "admin"
                || (role == "regional" && reading)
                || territory_role.is_some_and(|r| r >= min)
        }
        // Personal data: regional staff get aggregates only.
        Access::Personal(min) => role == "admin" || territory_role.is_some_and(|r| r >= min),
    }
}

/// Routes that show people's contact details or answers.
fn holds_personal_data(path: &str) -> bool {
    path.contains("/inscriptions")
        && (path.starts_with("/admin/t/{territory}/seances/")
            || path.starts_with("/admin/t/{territory}/inscriptions/")
            || path.starts_with("/api/"))
        || path.ends_with("/reponses.csv")
        || path.ends_with("/reponses.xlsx")
        || path.ends_with("/personnes/{id}/export")
        || path.ends_with("/registrations")
        || path.starts_with("/admin/t/{territory}/envois")
        // Slot bookings (issue 16): names and phones.
        || (path.starts_with("/admin/") && path.contains("/rendez-vous"))
        // Referrals (issue 16): the people's names and contacts.
        || path.starts_with("/admin/t/{territory}/orientations")
}

/// Walk every declared route with every role and check the answer.
async fn authorization_matrix(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut specs = maillage::web::routes(app.state.clone()).specs;
    assert!(specs.len() >= 25, "only {} routes declared?", specs.len());
    let personal: Vec<String> = specs
        .iter()
        .filter(|s| holds_personal_data(&s.path))
        .map(|s| format!("{} {} {:?}", s.method, s.path, s.access))
        .collect();
    assert!(personal.len() >= 8, "{personal:#?}");
    assert!(
        personal.iter().all(|p| p.contains("Personal(")),
        "personal data must be declared Access::Personal: {personal:#?}"
    );
    // Signing out ends the session: walk it last.
    specs.sort_by_key(|s| s.path == "/admin/deconnexion");
    let victim = app.account("victim").id.to_string();
    // A local service of the territory, for the routes that take an {id}.
    let service = maillage::domain::service::ServiceInput {
        name: "Point santé".into(),
        kind: "mediation".into(),
        ..Default::default()
    }
    .parse(&[])
    .unwrap();
    let lens = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let actor = maillage::storage::audit::Actor::system("test");
    let service_id = maillage::storage::services::create(&app.db, &actor, lens.id, &service)
        .await
        .unwrap();
    assert_eq!(service_id, 1, "routes with an {{id}} are walked with id 1");

    let mut clients = Vec::new();
    for role in ROLES {
        let (c, form_page) = if role == "anonymous" {
            (app.client(), "/admin/connexion")
        } else {
            // Signed-in clients are sent away from the login form.
            (app.login(role).await, "/admin/mot-de-passe")
        };
        let token = csrf_from(&c, &app.url(form_page)).await;
        clients.push((role, c, token));
    }

    let mut failures = Vec::new();
    let mut checked = 0usize;
    for spec in &specs {
        let path = spec
            .path
            .replace("{territory}", "lens-lievin")
            .replace("{slug}", "lens-lievin")
            .replace("{token}", "jeton-inconnu")
            .replace("{user_id}", &victim)
            .replace("{insee_code}", "62498")
            .replace("{siren}", "246200364")
            .replace("{finess}", "620000029")
            .replace("{rpps}", "810100000001")
            .replace("{contract}", "1")
            .replace("{code}", "1.1.1")
            .replace("{body}", "1")
            .replace("{meeting}", "1")
            .replace("{consultation}", "1")
            .replace("{question}", "1")
            .replace("{request}", "1")
            .replace("{member}", "1")
            .replace("{idea}", "1")
            .replace("{message}", "1")
            .replace("{document}", "1")
            .replace("{proposal}", "1")
            .replace("{year}", "2025")
            .replace("{date}", "2024-01-01")
            .replace("{provider}", "brevo")
            .replace("{secret}", "pas-le-secret")
            .replace("{id}", "1");
        let path = if spec.path == "/api/v1/communes" || spec.path == "/api/v1/epcis" {
            format!("{path}?q=lens")
        } else {
            path
        };
        for (role, c, token) in &clients {
            let method = reqwest::Method::from_bytes(spec.method.as_str().as_bytes()).unwrap();
            let req = c.request(method.clone(), app.url(&path));
            let req = if method == reqwest::Method::POST {
                req.form(&[("_csrf", token.as_str())])
            } else {
                req
            };
            let resp = req.send().await.unwrap();
            checked += 1;
            let status = resp.status();
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let expect_ok = allowed(spec.access, role, &method);
            let to_login =
                status == StatusCode::SEE_OTHER && location.starts_with("/admin/connexion?suite=");
            let denied =
                status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED || to_login;
            let right = if expect_ok {
                !denied && status != StatusCode::INTERNAL_SERVER_ERROR
            } else if *role == "anonymous" {
                if path.starts_with("/api/") {
                    status == StatusCode::UNAUTHORIZED
                } else {
                    to_login
                }
            } else {
                status == StatusCode::FORBIDDEN
            };
            if !right {
                failures.push(format!(
                    "{} {} as {role}: {status} {location} (allowed: {expect_ok})",
                    spec.method, path
                ));
            }
        }
    }
    eprintln!(
        "authorization matrix: {} routes × {} roles, {checked} requests",
        specs.len(),
        clients.len()
    );
    assert!(checked >= specs.len() * clients.len());
    assert!(
        failures.is_empty(),
        "authorization matrix:\n{}",
        failures.join("\n")
    );
    app.stop().await;
}
both!(authorization_matrix);

async fn another_territorys_coordinator_sees_nothing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("other_coordinator").await;
    for path in [
        "/admin/t/lens-lievin/",
        "/admin/t/lens-lievin/presentation",
        "/admin/t/lens-lievin/comptes",
    ] {
        let resp = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 403, "{path}");
        let body = resp.text().await.unwrap();
        assert!(
            !body.contains("coord@lens.test") && !body.contains("partner@lens.test"),
            "{path} leaks accounts"
        );
    }
    // Their own territory works.
    assert_eq!(
        c.get(app.url("/admin/t/mond-arverne/comptes"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}
both!(another_territorys_coordinator_sees_nothing);

async fn csrf_is_required_on_every_form(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("coordinator").await;
    let url = app.url("/admin/t/lens-lievin/presentation");
    let html = c.get(&url).send().await.unwrap().text().await.unwrap();
    let token = extract_csrf(&html).unwrap();
    let form = |t: &str| {
        vec![
            ("_csrf", t.to_owned()),
            ("version", "1".into()),
            ("name", "Piraté".into()),
        ]
    };
    // Forged, missing, and from another site.
    let forged = c
        .post(&url)
        .form(&form("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.text().await.unwrap().contains("Formulaire expiré"));
    let missing = c
        .post(&url)
        .form(&[("name", "Piraté")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 403);
    let cross = c
        .post(&url)
        .header("origin", "https://evil.example")
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    // A client without the cookie cannot reuse someone's token.
    let stranger = app.client();
    assert_eq!(
        stranger
            .post(&url)
            .form(&form(&token))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let t = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        t.name, "Communauté d'agglomération de Lens-Liévin",
        "nothing changed"
    );
    app.stop().await;
}
both!(csrf_is_required_on_every_form);

async fn login_is_rate_limited(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.client();
    let token = csrf_from(&c, &app.url("/admin/connexion")).await;
    let email = app.account("partner").email.clone();
    for i in 0..5 {
        let r = c
            .post(app.url("/admin/connexion"))
            .form(&[
                ("_csrf", token.as_str()),
                ("email", email.as_str()),
                ("password", "mauvais mot de passe"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "attempt {i}");
        let body = r.text().await.unwrap();
        assert!(body.contains("Adresse e-mail ou mot de passe incorrect"));
        assert!(
            body.contains(&format!("value=\"{email}\"")),
            "the e-mail typed is kept"
        );
    }
    // Even the right password is refused now, with a clear message.
    let r = c
        .post(app.url("/admin/connexion"))
        .form(&[
            ("_csrf", token.as_str()),
            ("email", email.as_str()),
            ("password", common::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("Trop de tentatives"));
    // Other accounts are not locked out by it.
    app.login("coordinator").await;
    app.stop().await;
}
both!(login_is_rate_limited);

async fn coordinator_edits_presentation_with_conflict_detection(backend: Backend) {
    let app = TestApp::start(backend).await;
    let a = app.login("coordinator").await;
    let b = app.login("admin").await;
    let url = app.url("/admin/t/lens-lievin/presentation");
    let page_a = a.get(&url).send().await.unwrap().text().await.unwrap();
    let page_b = b.get(&url).send().await.unwrap().text().await.unwrap();
    let (ta, tb) = (
        extract_csrf(&page_a).unwrap(),
        extract_csrf(&page_b).unwrap(),
    );
    // Both forms were built from the same saved version.
    let version = field_value(&page_a, "version");
    assert_eq!(version, field_value(&page_b, "version"));

    let save = |c: &reqwest::Client, token: &str, name: &str, presentation: &str, phone: &str| {
        c.post(&url).form(&[
            ("_csrf", token.to_owned()),
            ("version", version.clone()),
            ("name", name.to_owned()),
            ("presentation", presentation.to_owned()),
            ("contact_email", "cls@lens.test".to_owned()),
            ("contact_phone", phone.to_owned()),
        ])
    };
    // Bad input: re-rendered with messages, everything typed kept, nothing saved.
    let long = "x".repeat(20_001);
    let r = save(&a, &ta, "", &long, "12345").send().await.unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("Nom : ce champ est obligatoire"), "{body}");
    assert!(body.contains("20001 caractères"));
    assert!(body.contains("est pas un numéro de téléphone"));
    assert!(body.contains(&long), "the long text is kept in the form");

    // A saves first; script tags are stored as typed and shown escaped.
    let r = save(
        &a,
        &ta,
        "Lens-Liévin",
        "Bienvenue <script>alert(1)</script>",
        "03 21 00 00 00",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let public = app
        .client()
        .get(app.url("/t/lens-lievin/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        public.contains("Bienvenue &#60;script&#62;alert(1)&#60;/script&#62;"),
        "shown escaped"
    );
    assert!(!public.contains("<script>alert(1)"));
    assert!(public.contains("03 21 00 00 00"));
    assert!(public.contains("appelez le 15 ou le 112"));
    assert!(public.contains("Page mise à jour le"));

    // B saves from the same version 1: conflict, both versions shown, nothing overwritten.
    let r = save(&b, &tb, "Version de B", "Texte de B", "")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Quelqu&#39;un a enregistré une autre version")
            || body.contains("Quelqu'un a enregistré une autre version")
    );
    assert!(body.contains("Lens-Liévin") && body.contains("Version de B"));
    let t = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.name, "Lens-Liévin");
    // The history shows who changed what.
    let page = a.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Présentation et contact modifiés") && page.contains("coord@lens.test"));
    app.stop().await;
}
both!(coordinator_edits_presentation_with_conflict_detection);

async fn perimeter_from_an_epci_or_codes(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("coordinator").await;
    let url = app.url("/admin/t/lens-lievin/perimetre");
    let page = c
        .get(format!("{url}?q=lens"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("CA de Lens - Liévin (246200364)"));
    let token = extract_csrf(&page).unwrap();

    let r = c
        .post(&url)
        .form(&[
            ("_csrf", token.as_str()),
            ("mode", "epci"),
            ("siren", "246200364"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = c.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("36 communes"), "{page}");
    assert!(page.contains("Bénifontaine") && page.contains("Résidence Calonne"));

    // Unknown EPCI, malformed and unknown codes: clear messages, nothing changed.
    let r = c
        .post(&url)
        .form(&[
            ("_csrf", token.as_str()),
            ("mode", "epci"),
            ("siren", "999999999"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Aucun EPCI n&#39;a le numéro SIREN 999999999"));
    let r = c
        .post(&url)
        .form(&[
            ("_csrf", token.as_str()),
            ("mode", "communes"),
            ("codes", "62498, 6249X\n99999"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("Codes INSEE mal formés : 6249X"));
    assert!(body.contains("62498, 6249X\n99999"), "typed codes are kept");
    let r = c
        .post(&url)
        .form(&[
            ("_csrf", token.as_str()),
            ("mode", "communes"),
            ("codes", "62498 99999"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("absents de la liste officielle des communes : 99999"));
    let t = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        maillage::storage::territories::communes(&app.db, t.id)
            .await
            .unwrap()
            .len(),
        36
    );

    // The partner may not post to this coordinator-only form.
    let p = app.login("partner").await;
    let ptoken = extract_csrf(
        &p.get(app.url("/admin/mot-de-passe"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let r = p
        .post(&url)
        .form(&[
            ("_csrf", ptoken.as_str()),
            ("mode", "communes"),
            ("codes", "62498"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        maillage::storage::territories::communes(&app.db, t.id)
            .await
            .unwrap()
            .len(),
        36
    );
    app.stop().await;
}
both!(perimeter_from_an_epci_or_codes);

async fn admin_creates_territories(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("admin").await;
    let token = csrf_from(&c, &app.url("/admin/territoires/nouveau")).await;
    let r = c
        .post(app.url("/admin/territoires"))
        .form(&[
            ("_csrf", token.as_str()),
            ("name", "Ouest Aveyron Communauté"),
            ("slug", ""),
            ("kind", "epci"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/admin/t/ouest-aveyron-communaute/perimetre"
    );
    // Duplicate slug, bad slug: re-rendered with the typed values.
    let r = c
        .post(app.url("/admin/territoires"))
        .form(&[
            ("_csrf", token.as_str()),
            ("name", "Doublon"),
            ("slug", "lens-lievin"),
            ("kind", "epci"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("déjà pris"));
    assert!(body.contains("value=\"Doublon\""));
    let r = c
        .post(app.url("/admin/territoires"))
        .form(&[
            ("_csrf", token.as_str()),
            ("name", "X"),
            ("slug", "Pas Bon!"),
            ("kind", "epci"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let list = app
        .client()
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("/t/ouest-aveyron-communaute/"));
    app.stop().await;
}
both!(admin_creates_territories);

async fn coordinator_manages_accounts_and_invites(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("coordinator").await;
    let url = app.url("/admin/t/lens-lievin/comptes");
    let page = c.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("partner@lens.test"));
    let token = extract_csrf(&page).unwrap();
    let r = c
        .post(&url)
        .form(&[
            ("_csrf", token.as_str()),
            ("email", "Nouvelle@Asso.test"),
            ("display_name", "Nouvelle"),
            ("role", "partner"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    let start = body.find("/admin/invitation/").expect("an invitation link");
    let link: String = body[start..].chars().take_while(|c| *c != '<').collect();

    // The invited person creates the account through the link, once.
    let n = app.client();
    let invite_page = n.get(app.url(&link)).send().await.unwrap();
    assert_eq!(invite_page.status(), 200);
    let ntoken = extract_csrf(&invite_page.text().await.unwrap()).unwrap();
    let r = n
        .post(app.url(&link))
        .form(&[
            ("_csrf", ntoken.as_str()),
            ("display_name", "Nouvelle"),
            ("new", "court"),
            ("confirm", "court"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let pw = "ma nouvelle phrase de passe";
    let r = n
        .post(app.url(&link))
        .form(&[
            ("_csrf", ntoken.as_str()),
            ("display_name", "Nouvelle"),
            ("new", pw),
            ("confirm", pw),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        n.get(app.url(&link)).send().await.unwrap().status(),
        400,
        "the link works once"
    );
    let me: serde_json::Value = n
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["memberships"][0]["territory"], "lens-lievin");
    assert_eq!(me["memberships"][0]["role"], "partner");

    // The last coordinator cannot be removed or demoted.
    let coord = app.account("coordinator").id;
    let r = c
        .post(app.url(&format!("/admin/t/lens-lievin/comptes/{coord}/retirer")))
        .form(&[("confirme", "oui"), ("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = c
        .post(app.url(&format!("/admin/t/lens-lievin/comptes/{coord}/role")))
        .form(&[("_csrf", token.as_str()), ("role", "member")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    // A user of another territory cannot be touched from here.
    let other = app.account("other_coordinator").id;
    let r = c
        .post(app.url(&format!("/admin/t/lens-lievin/comptes/{other}/retirer")))
        .form(&[("confirme", "oui"), ("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}
both!(coordinator_manages_accounts_and_invites);

async fn password_change_and_sign_out(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("partner").await;
    let other_session = app.login("partner").await;
    let token = csrf_from(&c, &app.url("/admin/mot-de-passe")).await;
    let r = c
        .post(app.url("/admin/mot-de-passe"))
        .form(&[
            ("_csrf", token.as_str()),
            ("current", "faux"),
            ("new", "x"),
            ("confirm", "y"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Le mot de passe actuel est incorrect")
            && body.contains("au moins 12 caractères")
    );
    let new = "un tout nouveau mot de passe";
    let r = c
        .post(app.url("/admin/mot-de-passe"))
        .form(&[
            ("_csrf", token.as_str()),
            ("current", common::PASSWORD),
            ("new", new),
            ("confirm", new),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The other session was closed, this one goes on.
    let closed = other_session.get(app.url("/admin/")).send().await.unwrap();
    assert_eq!(closed.status(), 303);
    assert!(closed.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/admin/connexion"));
    assert_eq!(
        c.get(app.url("/admin/mot-de-passe"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = c
        .post(app.url("/admin/deconnexion"))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        c.get(app.url("/admin/")).send().await.unwrap().status(),
        303
    );
    app.stop().await;
}
both!(password_change_and_sign_out);

async fn api_and_openapi(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.client();
    let list: serde_json::Value = c
        .get(app.url("/api/v1/territories"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let t: serde_json::Value = c
        .get(app.url("/api/v1/territories/lens-lievin"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(t["commune_count"], 2);
    assert_eq!(t["qpvs"].as_array().unwrap().len(), 2);
    let communes: serde_json::Value = c
        .get(app.url("/api/v1/communes?q=lievin"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(communes[0]["insee_code"], "62510");
    let lens: serde_json::Value = c
        .get(app.url("/api/v1/communes/62498"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lens["epci"]["siren"], "246200364");
    let bad = c
        .get(app.url("/api/v1/communes/6249X"))
        .send()
        .await
        .unwrap();
    // A code that cannot exist names no commune (as documented).
    assert_eq!(bad.status(), 404);
    let err: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(err["error"], "not_found");
    let missing = c
        .get(app.url("/api/v1/territories/inconnu"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        c.get(app.url("/api/v1/me")).send().await.unwrap().status(),
        401
    );

    // Every declared API route is in the OpenAPI document, and only those.
    let doc: serde_json::Value = c
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented: std::collections::BTreeSet<String> =
        doc["paths"].as_object().unwrap().keys().cloned().collect();
    let declared: std::collections::BTreeSet<String> = maillage::web::routes(app.state.clone())
        .specs
        .into_iter()
        // The open-data JSON lives beside its CSV and XLSX (`/donnees/`).
        .filter(|s| s.path.starts_with("/api/v1/") || s.path == "/donnees/plans.json")
        .map(|s| s.path)
        .collect();
    assert_eq!(documented, declared);
    app.stop().await;
}
both!(api_and_openapi);

#[tokio::test]
async fn security_headers_limits_and_errors() {
    let config = maillage::config::Config {
        body_limit: 64 * 1024,
        ..Default::default()
    };
    let app = TestApp::start_with(Backend::Sqlite, config).await;
    let c = app.client();
    let r = c.get(app.url("/t/lens-lievin/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h.get("set-cookie").is_none(),
        "a public page without a form sets no cookie"
    );

    let r = c.get(app.url("/t/inconnu/")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Page introuvable"));
    assert_eq!(
        c.get(app.url("/t/lens-lievin"))
            .send()
            .await
            .unwrap()
            .status(),
        308
    );

    // A body over the limit is refused before any work.
    let co = app.login("coordinator").await;
    let token = csrf_from(&co, &app.url("/admin/t/lens-lievin/presentation")).await;
    let big = "y".repeat(100 * 1024);
    let r = co
        .post(app.url("/admin/t/lens-lievin/presentation"))
        .form(&[
            ("_csrf", token.as_str()),
            ("version", "1"),
            ("name", "X"),
            ("presentation", big.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // Display preferences: a cookie, and never an open redirect.
    let r = c
        .get(app.url("/preferences?contraste=oui&retour=//evil.example/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let page = c
        .get(app.url("/t/lens-lievin/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("class=\"contraste\""));
    app.stop().await;
}

#[tokio::test]
async fn anonymous_public_pages_are_micro_cached() {
    let config = maillage::config::Config {
        public_cache_ttl: std::time::Duration::from_secs(600),
        ..Default::default()
    };
    let app = TestApp::start_with(Backend::Sqlite, config).await;
    let anon = app.client();
    let home = app.url("/t/lens-lievin/");
    assert!(anon
        .get(&home)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Communauté d&#39;agglomération"));
    // A change that bypasses this process (another server, a command) shows
    // after the TTL; until then the cached page is served.
    let t = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let profile = maillage::domain::territory::ProfileInput {
        name: "Nom changé ailleurs".into(),
        ..Default::default()
    };
    let actor = maillage::storage::audit::Actor::system("test");
    maillage::storage::territories::update_profile(
        &app.db,
        &actor,
        t.id,
        t.version,
        &profile.parse().unwrap(),
    )
    .await
    .unwrap();
    let cached = anon.get(&home).send().await.unwrap();
    assert_eq!(
        cached.headers()["cache-control"],
        "public, max-age=0, must-revalidate"
    );
    assert!(!cached.text().await.unwrap().contains("Nom changé ailleurs"));
    // Signed-in people always get a fresh page.
    let coord = app.login("coordinator").await;
    assert!(coord
        .get(&home)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Nom changé ailleurs"));
    // A write through this process clears the cache.
    let token = csrf_from(&coord, &app.url("/admin/mot-de-passe")).await;
    let r = coord
        .post(app.url("/admin/t/lens-lievin/perimetre"))
        .form(&[
            ("_csrf", token.as_str()),
            ("mode", "communes"),
            ("codes", "62498"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(anon
        .get(&home)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Nom changé ailleurs"));
    // Pages with a form are never cached (they hold a per-visitor token).
    let a = app
        .client()
        .get(app.url("/admin/connexion"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let b = app
        .client()
        .get(app.url("/admin/connexion"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_ne!(extract_csrf(&a), extract_csrf(&b));
    app.stop().await;
}

/// Issue 10: a destructive action asks first, on a page of its own that
/// replays the form; the action then runs and the next page says it is done,
/// once.
async fn destructive_actions_ask_then_confirm(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("coordinator").await;
    let token = csrf_from(&c, &app.url("/admin/t/lens-lievin/comptes")).await;
    let partner = app.account("partner").id;
    let url = app.url(&format!("/admin/t/lens-lievin/comptes/{partner}/retirer"));
    let r = c
        .post(&url)
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a confirmation page, not the action");
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Confirmer le retrait de l&#39;accès")
            || body.contains("Confirmer le retrait de l'accès"),
        "{body}"
    );
    assert!(body.contains(r#"name="confirme" value="oui""#));
    assert!(
        body.contains(&format!(r#"name="_csrf" value="{token}""#)),
        "the form is replayed"
    );
    assert!(body.contains("Non, revenir"));
    let me: serde_json::Value = app
        .login("partner")
        .await
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["memberships"][0]["territory"], "lens-lievin",
        "nothing removed yet"
    );

    // Someone who may not act never sees the confirmation page.
    let p = app.login("partner").await;
    let ptoken = csrf_from(&p, &app.url("/admin/mot-de-passe")).await;
    let r = p
        .post(&url)
        .form(&[("_csrf", ptoken.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let r = c
        .post(&url)
        .form(&[("_csrf", token.as_str()), ("confirme", "oui")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let me: serde_json::Value = app
        .login("partner")
        .await
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(me["memberships"].as_array().unwrap().is_empty(), "{me}");
    app.stop().await;
}
both!(destructive_actions_ask_then_confirm);

/// Issue 10: a form that saves says so on the page it leads to, once.
async fn a_saved_form_says_so_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("coordinator").await;
    let token = csrf_from(&c, &app.url("/admin/mot-de-passe")).await;
    let r = c
        .post(app.url("/admin/deconnexion"))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let first = c
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(first.contains("Vous êtes déconnecté·e."), "{first}");
    assert!(first.contains(r#"role="status""#));
    let again = c
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !again.contains("Vous êtes déconnecté·e."),
        "shown once only"
    );
    app.stop().await;
}
both!(a_saved_form_says_so_once);

/// Issue 10: the territory's pages share one header menu, a breadcrumb and
/// a footer with the legal pages every French public site has.
async fn every_public_page_has_menu_breadcrumb_and_legal_pages(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.client();
    let home = c
        .get(app.url("/t/lens-lievin/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (href, label) in [
        ("/t/lens-lievin/permanences", "Permanences"),
        ("/t/lens-lievin/agenda", "Agenda"),
        ("/t/lens-lievin/annuaire", "Annuaire"),
        ("/t/lens-lievin/participer", "Participer"),
        ("/t/lens-lievin/contrat", "Le contrat"),
        ("/t/lens-lievin/contact", "Contact"),
    ] {
        assert!(
            home.contains(&format!(r#"<a href="{href}">{label}</a>"#)),
            "{label}"
        );
    }
    assert!(home.contains("Prochaines permanences santé"));
    let agenda = c
        .get(app.url("/t/lens-lievin/agenda"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(agenda.contains(r#"<a href="/t/lens-lievin/agenda" aria-current="page">Agenda</a>"#));
    assert!(agenda.contains(r#"aria-label="Vous êtes ici""#));
    for (path, h1) in [
        ("/t/lens-lievin/mentions-legales", "Mentions légales"),
        (
            "/t/lens-lievin/accessibilite",
            "Déclaration d&#39;accessibilité",
        ),
        (
            "/t/lens-lievin/donnees-personnelles",
            "Données personnelles",
        ),
        ("/t/lens-lievin/plan-du-site", "Plan du site"),
        ("/mentions-legales", "Mentions légales"),
        ("/accessibilite", "Déclaration d&#39;accessibilité"),
        ("/donnees-personnelles", "Données personnelles"),
        ("/plan-du-site", "Plan du site"),
    ] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let body = r.text().await.unwrap();
        assert!(body.contains(&format!("<h1>{h1}</h1>")), "{path}: {body}");
        assert!(
            body.contains("Accessibilité : partiellement conforme"),
            "{path}"
        );
    }
    let a11y = c
        .get(app.url("/t/lens-lievin/accessibilite"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(a11y.contains("partiellement conforme") && a11y.contains("Défenseur des droits"));
    // No contract yet in this test territory: « Le contrat » says so plainly.
    let r = c
        .get(app.url("/t/lens-lievin/contrat"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("pas encore publié"));
    assert_eq!(
        c.get(app.url("/t/inconnu/mentions-legales"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.stop().await;
}
both!(every_public_page_has_menu_breadcrumb_and_legal_pages);

/// Issue 10: a coordinator with one territory lands on it, and its
/// dashboard says what waits (« À faire »).
async fn coordinator_lands_on_the_territory_todo(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("coordinator").await;
    let r = c.get(app.url("/admin/")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin/t/lens-lievin/");
    let page = common::text_of(&c, app.url("/admin/t/lens-lievin/")).await;
    assert!(page.contains("À faire"), "{page}");
    assert!(page.contains(r#"<span class="count">0</span> <a href="/admin/t/lens-lievin/participation#idees">idées à modérer</a>"#), "{page}");
    let t = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let idea = maillage::domain::participation::IdeaInput {
        kind: "idea".into(),
        text: "Un banc devant la maison de santé".into(),
        theme: String::new(),
        insee_code: String::new(),
        contact_name: String::new(),
        contact_email: String::new(),
        consent: false,
    };
    maillage::storage::participation::create_idea(&app.db, t.id, &idea)
        .await
        .unwrap();
    let page = common::text_of(&c, app.url("/admin/t/lens-lievin/")).await;
    assert!(page.contains(r#"<span class="count">1</span> <a href="/admin/t/lens-lievin/participation#idees">idée à modérer</a>"#), "{page}");
    // Staff who read every territory keep the list of territories.
    let a = app.login("admin").await;
    let r = a.get(app.url("/admin/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // A partner sees no « À faire » of the coordination.
    let p = app.login("partner").await;
    let page = common::text_of(&p, app.url("/admin/t/lens-lievin/")).await;
    assert!(!page.contains("À faire"));
    app.stop().await;
}
both!(coordinator_lands_on_the_territory_todo);
