//! Participation over HTTP, on SQLite and PostgreSQL: a coordinator sets up
//! a working group, an inhabitant asks to join it from the public page and is
//! told by e-mail; a member opens the group's space, nobody else does; a
//! questionnaire with a condition is built, answered (errors keep what was
//! typed, double submissions count once, closing date enforced), its results
//! published with SVG charts, its answers exported (CSV read by Python's
//! `csv`, XLSX by `openpyxl`); invited panels with single-use links; the idea
//! box (100 kB text, script tags shown escaped, moderation, public answer);
//! the contact form; anti-spam (honeypot, minimum fill time, rate limit);
//! the API.

use crate::common;

use common::{csrf_from, extract_csrf, Backend, TestApp};
use maillage::config::Config;
use maillage::storage::territories;

fn quick() -> Config {
    Config {
        form_min_fill_secs: 0,
        ..Default::default()
    }
}

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name}"))
        + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

async fn page(c: &reqwest::Client, url: &str) -> String {
    let r = c.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.text().await.unwrap()
}

/// POST a form built from `pairs`, adding the page's CSRF token and stamp.
async fn post_form(
    app: &TestApp,
    c: &reqwest::Client,
    form_page: &str,
    action: &str,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    let html = page(c, &app.url(form_page)).await;
    let csrf = extract_csrf(&html).expect("csrf");
    let mut all: Vec<(String, String)> = vec![("_csrf".into(), csrf)];
    if html.contains("name=\"_t\"") {
        all.push(("_t".into(), field(&html, "_t")));
        all.push(("site_web".into(), String::new()));
    }
    // A questionnaire's hidden fields: its submission key and invitation token.
    for hidden in ["key", "jeton"] {
        if html.contains(&format!("name=\"{hidden}\" value=")) {
            all.push((hidden.into(), field(&html, hidden)));
        }
    }
    for (k, v) in pairs {
        all.push(((*k).to_owned(), (*v).to_owned()));
    }
    c.post(app.url(action)).form(&all).send().await.unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

async fn lens(app: &TestApp) -> i64 {
    territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// The coordinator creates a working group through the back-office form.
async fn create_group(
    app: &TestApp,
    staff: &reqwest::Client,
    name: &str,
    capacity: &str,
    open: bool,
) -> i64 {
    let mut pairs = vec![
        ("kind", "working_group"),
        ("name", name),
        ("theme", "Santé mentale"),
        ("purpose", "Repérer les besoins.\n\nProposer des actions."),
        ("capacity", capacity),
    ];
    if open {
        pairs.push(("open", "oui"));
    }
    let r = post_form(
        app,
        staff,
        "/admin/t/lens-lievin/participation",
        "/admin/t/lens-lievin/instances",
        &pairs,
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    location(&r).rsplit('/').next().unwrap().parse().unwrap()
}

/// A contract with fiche action 1.1.1 for the lens-lievin territory.
async fn seed_action(app: &TestApp) {
    use maillage::domain::contract::{ActionInput, ContractRaw};
    use maillage::storage::contract;
    let actor = maillage::storage::audit::Actor::system("test");
    let tid = lens(app).await;
    let raw = ContractRaw {
        kind: "cls".into(),
        title: "CLS 2024-2028".into(),
        status: "in_force".into(),
        signed_on: "2024-03-15".into(),
        period_start: "2024-01-01".into(),
        period_end: "2028-12-31".into(),
        summary: String::new(),
        signatories: "Agence régionale de santé Hauts-de-France\nCommunauté d'agglomération".into(),
    };
    let c = contract::create(&app.db, &actor, tid, &raw.parse().unwrap())
        .await
        .unwrap();
    let axis = contract::add_axis(&app.db, &actor, &c, "Accès aux soins")
        .await
        .unwrap();
    let objective = contract::add_objective(&app.db, &actor, &c, axis.id, "Aller vers")
        .await
        .unwrap();
    let action = ActionInput::parse("Médiateurs santé", "", "in_progress", "CCAS").unwrap();
    contract::add_action(&app.db, &actor, &c, objective.id, &action)
        .await
        .unwrap();
}

/// A tiny SMTP server that accepts everything and keeps the messages.
async fn smtp_sink() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = mails.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(buf) = data.as_mut() {
                        if line == "." {
                            store.lock().unwrap().push(data.take().unwrap());
                            w.write_all(b"250 OK\r\n").await.unwrap();
                        } else {
                            buf.push_str(&line);
                            buf.push('\n');
                        }
                        continue;
                    }
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if cmd.starts_with("DATA") {
                        data = Some(String::new());
                        b"354 go\r\n"
                    } else if cmd.starts_with("QUIT") {
                        w.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mails)
}

fn decode_qp(mail: &str) -> String {
    let joined = mail.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn wait_for_mail(
    mails: &std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    n: usize,
) -> Vec<String> {
    for _ in 0..100 {
        if mails.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    mails.lock().unwrap().iter().map(|m| decode_qp(m)).collect()
}

async fn join_a_working_group(backend: Backend) {
    let (port, mails) = smtp_sink().await;
    let app = TestApp::start_with(
        backend,
        Config {
            smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
            ..quick()
        },
    )
    .await;
    let staff = app.login("coordinator").await;
    assert!(page(&staff, &app.url("/admin/t/lens-lievin/"))
        .await
        .contains("href=\"/admin/t/lens-lievin/participation\""));
    let gid = create_group(&app, &staff, "Groupe santé mentale", "1", true).await;
    let closed = create_group(&app, &staff, "Groupe addictions", "", false).await;

    let c = app.client();
    let html = page(&c, &app.url("/t/lens-lievin/participer")).await;
    assert!(
        html.contains("Groupe santé mentale")
            && html.contains("Ouvert : vous pouvez demander à le rejoindre")
    );
    assert!(html.contains("Fermé aux nouveaux membres"));
    let group_url = format!("/t/lens-lievin/groupes/{gid}");
    let html = page(&c, &app.url(&group_url)).await;
    assert!(html.contains("Rejoindre ce groupe") && html.contains("<legend>Vous êtes</legend>"));
    assert!(
        html.contains("name=\"site_web\"")
            && html.contains("tabindex=\"-1\"")
            && html.contains("aria-hidden=\"true\"")
    );
    let action = format!("{group_url}/adhesion");

    // Missing consent: 422, what was typed is kept, the message is linked.
    let r = post_form(
        &app,
        &c,
        &group_url,
        &action,
        &[
            ("name", "Alice <script>alert(1)</script>"),
            ("email", "alice@exemple.test"),
            ("profile", "inhabitant"),
            ("message", "Je souhaite participer."),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("href=\"#consent\"") && body.contains("Cochez la case"));
    assert!(
        body.contains("Alice &#60;script&#62;") || body.contains("Alice &lt;script&gt;"),
        "typed name kept, escaped"
    );
    assert!(!body.contains("<script>alert(1)"));
    assert!(body.contains("Je souhaite participer."));

    // Honeypot filled: refused, nothing stored.
    let html = page(&c, &app.url(&group_url)).await;
    let r = c
        .post(app.url(&action))
        .form(&[
            ("_csrf", extract_csrf(&html).unwrap().as_str()),
            ("_t", field(&html, "_t").as_str()),
            ("site_web", "http://spam.example"),
            ("name", "Robot"),
            ("email", "robot@exemple.test"),
            ("profile", "inhabitant"),
            ("consent", "oui"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("rempli automatiquement"));

    let r = post_form(
        &app,
        &c,
        &group_url,
        &action,
        &[
            ("name", "Alice <script>alert(1)</script>"),
            ("email", "alice@exemple.test"),
            ("profile", "inhabitant"),
            ("consent", "oui"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Votre demande est envoyée"));
    // A closed group refuses.
    let closed_url = format!("/t/lens-lievin/groupes/{closed}");
    let html = page(&c, &app.url(&closed_url)).await;
    assert!(!html.contains("Envoyer ma demande"));
    let r = post_form(
        &app,
        &c,
        "/t/lens-lievin/contact",
        &format!("{closed_url}/adhesion"),
        &[
            ("name", "Bruno"),
            ("email", "bruno@exemple.test"),
            ("profile", "professional"),
            ("consent", "oui"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("n’accueille pas de nouveaux membres"));

    // The coordinator sees the request (escaped) and accepts it.
    let admin = page(&staff, &app.url("/admin/t/lens-lievin/participation")).await;
    assert!(admin.contains("Alice &#60;script&#62;") || admin.contains("Alice &lt;script&gt;"));
    let requests = maillage::storage::participation::join_requests(&app.db, lens(&app).await, true)
        .await
        .unwrap();
    assert_eq!(requests.len(), 1, "the robot stored nothing");
    let r = post_form(
        &app,
        &staff,
        "/admin/t/lens-lievin/participation",
        &format!("/admin/t/lens-lievin/demandes/{}", requests[0].id),
        &[("decision", "accept")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let got = wait_for_mail(&mails, 1).await;
    assert!(
        got.iter()
            .any(|m| m.contains("To: alice@exemple.test") && m.contains("est acceptée")),
        "{got:?}"
    );
    // The only seat is taken: the group is full.
    let html = page(&c, &app.url(&group_url)).await;
    assert!(html.contains("Complet"));
    let r = post_form(
        &app,
        &c,
        "/t/lens-lievin/contact",
        &action,
        &[
            ("name", "Chloé"),
            ("email", "chloe@exemple.test"),
            ("profile", "inhabitant"),
            ("consent", "oui"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Ce groupe est complet"));
    // Accepting twice is a conflict; deleting the request works.
    let r = post_form(
        &app,
        &staff,
        "/admin/t/lens-lievin/participation",
        &format!("/admin/t/lens-lievin/demandes/{}", requests[0].id),
        &[("decision", "decline")],
    )
    .await;
    assert_eq!(r.status(), 409);
    let r = post_form(
        &app,
        &staff,
        "/admin/t/lens-lievin/participation",
        &format!(
            "/admin/t/lens-lievin/demandes/{}/suppression",
            requests[0].id
        ),
        &[("confirme", "oui")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(
        !page(&staff, &app.url("/admin/t/lens-lievin/participation"))
            .await
            .contains("alice@exemple.test")
    );
    app.stop().await;
}
both!(join_a_working_group);

async fn members_space_meetings_and_decisions(backend: Backend) {
    let app = TestApp::start_with(backend, quick()).await;
    let staff = app.login("coordinator").await;
    let gid = create_group(&app, &staff, "Groupe personnes âgées", "", true).await;
    let body_admin = format!("/admin/t/lens-lievin/instances/{gid}");
    // Member tied to the « member » account.
    let r = post_form(
        &app,
        &staff,
        &body_admin,
        &format!("{body_admin}/membres"),
        &[
            ("name", "Marie Membre"),
            ("organisation", "Association Bien vieillir"),
            ("role", "Référente"),
            ("account", "member@lens.test"),
            ("mandate_start", "2024-01-01"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    // Unknown account: 422, input kept.
    let r = post_form(
        &app,
        &staff,
        &body_admin,
        &format!("{body_admin}/membres"),
        &[("name", "Inconnu"), ("account", "personne@exemple.test")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let t = r.text().await.unwrap();
    assert!(t.contains("Aucun compte n’a cette adresse") && t.contains("value=\"Inconnu\""));
    // A meeting with minutes and a decision.
    let r = post_form(
        &app,
        &staff,
        &body_admin,
        &format!("{body_admin}/reunions"),
        &[
            ("title", "Réunion de lancement"),
            ("date", "2031-06-12"),
            ("time", "09:30"),
            ("place", "Salle <b>du conseil</b>"),
            ("agenda", "Tour de table"),
            ("public", "oui"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let meeting_url = location(&r);
    let html = page(&staff, &app.url(&meeting_url)).await;
    let version = field(&html, "version");
    let r = post_form(
        &app,
        &staff,
        &meeting_url,
        &meeting_url,
        &[
            ("title", "Réunion de lancement"),
            ("date", "2031-06-12"),
            ("time", "09:30"),
            ("place", "Salle <b>du conseil</b>"),
            ("agenda", "Tour de table"),
            (
                "minutes",
                "Compte rendu : le groupe choisit trois priorités.",
            ),
            ("public", "oui"),
            ("version", &version),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    // The same stale version again: 409, both versions shown.
    let r = post_form(
        &app,
        &staff,
        &meeting_url,
        &meeting_url,
        &[
            ("title", "Autre titre"),
            ("date", "2031-06-12"),
            ("time", "09:30"),
            ("place", "Ailleurs"),
            ("version", &version),
        ],
    )
    .await;
    assert_eq!(r.status(), 409);
    let t = r.text().await.unwrap();
    assert!(
        t.contains("Votre saisie (non enregistrée)")
            && t.contains("Autre titre")
            && t.contains("trois priorités")
    );
    // Decision linked to an unknown action: clear error; without: stored.
    let r = post_form(
        &app,
        &staff,
        &meeting_url,
        &format!("{meeting_url}/decisions"),
        &[("text", "Organiser un forum"), ("action_code", "9.9.9")],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Aucune fiche action « 9.9.9 »"));
    seed_action(&app).await;
    let r = post_form(
        &app,
        &staff,
        &meeting_url,
        &format!("{meeting_url}/decisions"),
        &[
            ("text", "Organiser un forum"),
            ("follow_up", "Réserver la salle"),
            ("owner", "CCAS"),
            ("due_on", "2031-09-01"),
            ("action_code", "1.1.1"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    // Public: the meeting is announced, escaped.
    let html = page(&app.client(), &app.url("/t/lens-lievin/participer")).await;
    assert!(
        html.contains("Réunion de lancement") && html.contains("Salle &#60;b&#62;du conseil")
            || html.contains("Salle &lt;b&gt;du conseil")
    );

    // Invitations and presence through the form (repeated checkbox names).
    let members = maillage::storage::participation::members(&app.db, gid)
        .await
        .unwrap();
    let mid = members[0].id.to_string();
    let r = post_form(
        &app,
        &staff,
        &meeting_url,
        &format!("{meeting_url}/presences"),
        &[("invited", mid.as_str()), ("present", mid.as_str())],
    )
    .await;
    assert_eq!(r.status(), 303);
    let html = page(&staff, &app.url(&meeting_url)).await;
    assert!(html.contains(&format!(
        "name=\"present\" value=\"{mid}\" aria-label=\"Marie Membre présent·e\" checked"
    )));
    let space = format!("/t/lens-lievin/groupes/{gid}/espace");
    let member = app.login("member").await;
    let html = page(&member, &app.url(&space)).await;
    assert!(
        html.contains("trois priorités")
            && html.contains("Organiser un forum")
            && html.contains("Marie Membre")
    );
    for who in ["other_coordinator", "inhabitant", "partner"] {
        let c = app.login(who).await;
        let r = c.get(app.url(&space)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{who}");
        assert!(!r.text().await.unwrap().contains("trois priorités"));
    }
    let r = app.client().get(app.url(&space)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/admin/connexion"));
    // Another territory's coordinator cannot reach the back office either.
    let other = app.login("other_coordinator").await;
    assert_eq!(
        other
            .get(app.url(&body_admin))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert!(page(&staff, &app.url(&space))
        .await
        .contains("trois priorités"));
    // Ending a mandate (today, so it still counts until tonight) leads back to the body.
    let r = post_form(
        &app,
        &staff,
        &body_admin,
        &format!("/admin/t/lens-lievin/membres/{mid}/fin"),
        &[("confirme", "oui")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{body_admin}#membres"));
    assert!(
        page(&staff, &app.url(&body_admin))
            .await
            .contains("jusqu’au")
            || page(&staff, &app.url(&body_admin)).await.contains("au ")
    );
    app.stop().await;
}
both!(members_space_meetings_and_decisions);

/// Build the questionnaire through the forms; returns (id, question ids).
async fn build_questionnaire(app: &TestApp, staff: &reqwest::Client) -> (i64, Vec<i64>) {
    let today = chrono::Utc::now().date_naive();
    let r = post_form(
        app,
        staff,
        "/admin/t/lens-lievin/participation",
        "/admin/t/lens-lievin/consultations",
        &[
            ("title", "Votre santé <em>au quotidien</em>"),
            ("intro", "Dix minutes pour nous aider."),
            ("opens_on", &(today - chrono::Duration::days(1)).to_string()),
            (
                "closes_on",
                &(today + chrono::Duration::days(30)).to_string(),
            ),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let url = location(&r);
    let id: i64 = url.rsplit('/').next().unwrap().parse().unwrap();
    let add = format!("{url}/questions");
    let q = |kind: &'static str,
             label: &'static str,
             required: bool,
             options: &'static str,
             condition: String| {
        let mut v: Vec<(&'static str, String)> = vec![
            ("kind", kind.into()),
            ("label", label.into()),
            ("options", options.into()),
            ("scale_min", "1".into()),
            ("scale_max", "5".into()),
            ("condition", condition),
        ];
        if required {
            v.push(("required", "oui".into()));
        }
        v
    };
    let mut ids = Vec::new();
    for (i, spec) in [
        q(
            "single",
            "Avez-vous un médecin traitant ?",
            true,
            "Oui\nNon",
            String::new(),
        ),
        q(
            "long_text",
            "Pourquoi n’en avez-vous pas ?",
            true,
            "",
            "FIRST:2".into(),
        ),
        q(
            "multiple",
            "Quels services utilisez-vous ?",
            false,
            "Pharmacie\nMédecin <généraliste>\nInfirmier",
            String::new(),
        ),
        q(
            "scale",
            "Êtes-vous satisfait·e de l’offre de soins ?",
            false,
            "",
            String::new(),
        ),
        q("commune", "Votre commune", false, "", String::new()),
    ]
    .into_iter()
    .enumerate()
    {
        let spec: Vec<(&str, String)> = spec
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    v.replace(
                        "FIRST",
                        &ids.first().map(|x: &i64| x.to_string()).unwrap_or_default(),
                    ),
                )
            })
            .collect();
        let pairs: Vec<(&str, &str)> = spec.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(app, staff, &url, &add, &pairs).await;
        assert_eq!(r.status(), 303, "question {i}: {}", r.text().await.unwrap());
        let qs = maillage::storage::participation::questions(&app.db, id)
            .await
            .unwrap();
        ids.push(qs.last().unwrap().id);
    }
    (id, ids)
}

async fn answer(
    app: &TestApp,
    c: &reqwest::Client,
    form_url: &str,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    post_form(app, c, form_url, form_url.split('?').next().unwrap(), pairs).await
}

async fn questionnaire_answers_results_and_exports(backend: Backend) {
    let app = TestApp::start_with(backend, quick()).await;
    let staff = app.login("coordinator").await;
    let (cid, q) = build_questionnaire(&app, &staff).await;
    let form_url = format!("/t/lens-lievin/consultations/{cid}");
    let c = app.client();
    let html = page(&c, &app.url(&form_url)).await;
    assert!(html.contains("Votre santé &#60;em&#62;") || html.contains("Votre santé &lt;em&gt;"));
    assert!(
        html.contains(&format!("<fieldset id=\"q{}\"", q[0]))
            && html.contains("<legend>1. Avez-vous un médecin traitant ?")
    );
    assert!(html.contains("Répondez seulement si vous avez répondu « Non » à la question 1."));
    assert!(html.contains(&format!(
        "data-cond-field=\"q{}\" data-cond-value=\"2\"",
        q[0]
    )));
    assert!(
        html.contains("Médecin &#60;généraliste&#62;")
            || html.contains("Médecin &lt;généraliste&gt;")
    );
    assert!(html.contains(">Liévin</option>") || html.contains("Liévin"));
    let (f0, f1, f2, f3, f4) = (
        format!("q{}", q[0]),
        format!("q{}", q[1]),
        format!("q{}", q[2]),
        format!("q{}", q[3]),
        format!("q{}", q[4]),
    );

    // « Non » without the reason it now requires: 422, answers kept.
    let r = answer(
        &app,
        &c,
        &form_url,
        &[(&f0, "2"), (&f2, "1"), (&f2, "3"), (&f3, "4")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let t = r.text().await.unwrap();
    assert!(t.contains(&format!("href=\"#{f1}\"")) && t.contains("une réponse est demandée"));
    assert!(
        t.contains(&format!("name=\"{f2}\" value=\"3\" checked")),
        "multiple choice kept"
    );
    assert!(t.contains(&format!("name=\"{f3}\" value=\"4\" checked")));
    assert!(t.contains(&format!("aria-describedby=\"{f1}-condition {f1}-error\"")));
    // Missing the required first question.
    let r = answer(&app, &c, &form_url, &[(&f1, "texte")]).await;
    assert_eq!(r.status(), 422);
    // A good answer, with a script tag in the free text; « Oui » answers hide question 2.
    let r = answer(
        &app,
        &c,
        &form_url,
        &[
            (&f0, "2"),
            (&f1, "Trop loin <script>alert(1)</script>"),
            (&f2, "1"),
            (&f2, "3"),
            (&f3, "4"),
            (&f4, "62498"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Votre réponse est enregistrée"));
    let r = answer(
        &app,
        &c,
        &form_url,
        &[(&f0, "1"), (&f1, "ignoré car masqué"), (&f3, "2")],
    )
    .await;
    assert_eq!(r.status(), 200);
    // Double submission of one form: stored once.
    let html = page(&c, &app.url(&form_url)).await;
    let pairs = [
        ("_csrf", extract_csrf(&html).unwrap()),
        ("_t", field(&html, "_t")),
        ("key", field(&html, "key")),
        ("site_web", String::new()),
        (f0.as_str(), "1".to_owned()),
    ];
    for expect in [
        "Votre réponse est enregistrée",
        "n’a été enregistrée qu’une fois",
    ] {
        let r = c
            .post(app.url(&form_url))
            .form(&pairs)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains(expect));
    }

    // Results for the coordinator: counts, SVG with title, table, free text escaped.
    let res_admin = format!("/admin/t/lens-lievin/consultations/{cid}/resultats");
    let html = page(&staff, &app.url(&res_admin)).await;
    assert!(html.contains("3 réponses"));
    assert!(html.contains("role=\"img\"") && html.contains("<title id="));
    assert!(html.contains("<caption>Réponses à la question 1</caption>"));
    assert!(
        html.contains("<td>66,7 %</td>") && html.contains("<td>33,3 %</td>"),
        "2 Oui of 3"
    );
    assert!(
        html.contains("Trop loin &#60;script&#62;") || html.contains("Trop loin &lt;script&gt;")
    );
    assert!(!html.contains("<script>alert(1)"));
    assert!(
        !html.contains("ignoré car masqué"),
        "hidden question's answer dropped"
    );
    // Not public until published.
    let res_public = format!("/t/lens-lievin/consultations/{cid}/resultats");
    assert_eq!(
        c.get(app.url(&res_public)).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        c.get(app.url(&format!(
            "/api/v1/participation/lens-lievin/consultations/{cid}/results"
        )))
        .send()
        .await
        .unwrap()
        .status(),
        404
    );

    // Structure locked: adding a question is refused with a clear message.
    let edit = format!("/admin/t/lens-lievin/consultations/{cid}");
    let r = post_form(
        &app,
        &staff,
        &edit,
        &format!("{edit}/questions"),
        &[("kind", "short_text"), ("label", "Autre chose ?")],
    )
    .await;
    assert_eq!(r.status(), 409);
    let t = r.text().await.unwrap();
    assert!(
        t.contains("Des réponses ont déjà été reçues") && t.contains("value=\"Autre chose ?\"")
    );
    // Wording fix allowed.
    let r = post_form(
        &app,
        &staff,
        &edit,
        &format!("/admin/t/lens-lievin/questions/{}", q[0]),
        &[
            ("kind", "single"),
            ("label", "Avez-vous un médecin traitant déclaré ?"),
            ("options", "Oui\nNon"),
            ("required", "oui"),
            ("condition", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post_form(
        &app,
        &staff,
        &edit,
        &format!("/admin/t/lens-lievin/questions/{}/suppression", q[2]),
        &[("confirme", "oui")],
    )
    .await;
    assert_eq!(r.status(), 409);

    // Publish: the public page and the API show the results.
    let html = page(&staff, &app.url(&edit)).await;
    let version = field(&html, "version");
    let today = chrono::Utc::now().date_naive();
    let r = post_form(
        &app,
        &staff,
        &edit,
        &edit,
        &[
            ("title", "Votre santé au quotidien"),
            ("opens_on", &(today - chrono::Duration::days(1)).to_string()),
            (
                "closes_on",
                &(today + chrono::Duration::days(30)).to_string(),
            ),
            ("results_published", "oui"),
            ("version", &version),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let html = page(&c, &app.url(&res_public)).await;
    assert!(
        html.contains("Avez-vous un médecin traitant déclaré ?") && html.contains("role=\"img\"")
    );
    assert!(
        !html.contains("Trop loin"),
        "free text stays with the coordination"
    );
    let api: serde_json::Value = c
        .get(app.url(&format!(
            "/api/v1/participation/lens-lievin/consultations/{cid}/results"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["responses"], 3);
    assert_eq!(api["questions"][0]["choices"][0]["count"], 2);
    // Stale settings edit.
    let r = post_form(
        &app,
        &staff,
        &edit,
        &edit,
        &[
            ("title", "X"),
            ("opens_on", "2020-01-01"),
            ("closes_on", "2020-01-02"),
            ("version", &version),
        ],
    )
    .await;
    assert_eq!(r.status(), 409);

    // Exports, read by independent parsers.
    let csv = staff
        .get(app.url(&format!(
            "/admin/t/lens-lievin/consultations/{cid}/reponses.csv"
        )))
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.bytes().await.unwrap();
    let rows = python(
        "import csv,io,sys,json\nrows=list(csv.reader(io.StringIO(sys.stdin.buffer.read().decode('utf-8-sig'))))\nprint(json.dumps(rows))",
        &csv,
    );
    assert_eq!(rows.len(), 4, "header and three responses");
    assert!(rows[0][2].as_str().unwrap().starts_with("Q1 Avez-vous"));
    assert_eq!(rows[1][2], "Non");
    assert_eq!(rows[1][3], "Trop loin <script>alert(1)</script>");
    assert_eq!(rows[1][4], "Pharmacie ; Infirmier");
    assert_eq!(rows[1][6], "Lens");
    let xlsx = staff
        .get(app.url(&format!(
            "/admin/t/lens-lievin/consultations/{cid}/reponses.xlsx"
        )))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let rows = python(
        "import openpyxl,io,sys,json\nwb=openpyxl.load_workbook(io.BytesIO(sys.stdin.buffer.read()))\nws=wb.active\nprint(json.dumps([[c if c is not None else '' for c in r] for r in ws.iter_rows(values_only=True)]))",
        &xlsx,
    );
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1][0], 1);
    assert_eq!(rows[1][4], "Pharmacie ; Infirmier");

    // After the closing date: refused, answers shown again.
    maillage::db_run!(&app.db, pool => sqlx::query("UPDATE consultations SET closes_on = $1 WHERE id = $2")
        .bind((today - chrono::Duration::days(1)).to_string()).bind(cid).execute(pool).await.map(|_| ()).unwrap());
    let html = page(&c, &app.url(&form_url)).await;
    assert!(html.contains("est close depuis le") && !html.contains("Envoyer mes réponses"));
    let html = page(&c, &app.url("/t/lens-lievin/contact")).await;
    let r = c
        .post(app.url(&form_url))
        .form(&[
            ("_csrf", extract_csrf(&html).unwrap().as_str()),
            ("key", "k-late"),
            (f0.as_str(), "1"),
            (f1.as_str(), "Réponse tardive"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let t = r.text().await.unwrap();
    assert!(
        t.contains("votre réponse n’a pas pu être enregistrée") && t.contains("Réponse tardive")
    );
    app.stop().await;
}
both!(questionnaire_answers_results_and_exports);

fn python(script: &str, input: &[u8]) -> Vec<Vec<serde_json::Value>> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python: {} (python3 -m pip install openpyxl)",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn invited_panel_links_are_single_use(backend: Backend) {
    let app = TestApp::start_with(backend, quick()).await;
    let staff = app.login("coordinator").await;
    let (cid, q) = build_questionnaire(&app, &staff).await;
    let edit = format!("/admin/t/lens-lievin/consultations/{cid}");
    let html = page(&staff, &app.url(&edit)).await;
    // Today in Paris, where the consultation opens and closes (between 23:00
    // and midnight UTC, the UTC date is already yesterday there).
    let today = maillage::web::agenda::today_paris();
    let r = post_form(
        &app,
        &staff,
        &edit,
        &edit,
        &[
            ("title", "Panel"),
            ("opens_on", &today.to_string()),
            ("closes_on", &today.to_string()),
            ("panel_only", "oui"),
            ("version", &field(&html, "version")),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post_form(
        &app,
        &staff,
        &edit,
        &format!("{edit}/invitations"),
        &[("count", "2")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let t = r.text().await.unwrap();
    let start = t.find("?jeton=").unwrap() + 7;
    let token: String = t[start..].chars().take_while(|c| *c != '<').collect();
    assert!(
        !participation_tokens_in_clear(&app, &token).await,
        "only the hash is stored"
    );
    let c = app.client();
    let form_url = format!("/t/lens-lievin/consultations/{cid}");
    assert!(page(&c, &app.url(&form_url))
        .await
        .contains("réservée aux personnes invitées"));
    // Not listed publicly.
    assert!(!page(&c, &app.url("/t/lens-lievin/participer"))
        .await
        .contains("Panel"));
    let with_token = format!("{form_url}?jeton={token}");
    let f0 = format!("q{}", q[0]);
    let r = answer(&app, &c, &with_token, &[(&f0, "1")]).await;
    assert_eq!(r.status(), 200);
    // The link is used up.
    let r = c.get(app.url(&with_token)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("n’est pas valable ou a déjà servi"));
    let html = page(&c, &app.url("/t/lens-lievin/contact")).await;
    let r = c
        .post(app.url(&form_url))
        .form(&[
            ("_csrf", extract_csrf(&html).unwrap().as_str()),
            ("_t", field(&html, "_t").as_str()),
            ("key", "autre"),
            ("jeton", token.as_str()),
            (f0.as_str(), "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    app.stop().await;
}
both!(invited_panel_links_are_single_use);

async fn participation_tokens_in_clear(app: &TestApp, token: &str) -> bool {
    let n: i64 = maillage::db_run!(&app.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM panel_tokens WHERE token_hash = $1")
        .bind(token).fetch_one(pool).await.unwrap());
    n > 0
}

async fn idea_box_moderation_and_contact(backend: Backend) {
    let (port, mails) = smtp_sink().await;
    let app = TestApp::start_with(
        backend,
        Config {
            smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
            ..quick()
        },
    )
    .await;
    maillage::db_run!(&app.db, pool => sqlx::query("UPDATE territories SET contact_email = $1 WHERE slug = $2")
        .bind("coordination@lens.test").bind("lens-lievin").execute(pool).await.map(|_| ()).unwrap());
    let c = app.client();
    let html = page(&c, &app.url("/t/lens-lievin/idees")).await;
    assert!(html.contains("Boîte à idées") && html.contains("<legend>Il s’agit</legend>"));

    // 100 kB: refused with a clear message, the text is kept.
    let long = "Une idée très longue. ".repeat(5000);
    let r = post_form(
        &app,
        &c,
        "/t/lens-lievin/idees",
        "/t/lens-lievin/idees",
        &[("kind", "idea"), ("text", &long)],
    )
    .await;
    assert_eq!(r.status(), 422);
    let t = r.text().await.unwrap();
    assert!(t.contains("109999 caractères") && t.contains("(au plus 5000)"));
    assert!(
        t.matches("Une idée très longue.").count() >= 5000,
        "the text typed is kept"
    );
    // Contact details without consent.
    let r = post_form(
        &app,
        &c,
        "/t/lens-lievin/idees",
        "/t/lens-lievin/idees",
        &[
            ("kind", "need"),
            ("text", "Un médecin le samedi"),
            ("contact_email", "lea@exemple.test"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("href=\"#consent\""));
    let r = post_form(
        &app,
        &c,
        "/t/lens-lievin/idees",
        "/t/lens-lievin/idees",
        &[
            ("kind", "idea"),
            (
                "text",
                "Un banc <script>alert(1)</script> devant la pharmacie",
            ),
            ("theme", "Mobilité"),
            ("insee_code", "62510"),
            ("contact_name", "Léa"),
            ("contact_email", "lea@exemple.test"),
            ("consent", "oui"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        !page(&c, &app.url("/t/lens-lievin/idees"))
            .await
            .contains("Un banc"),
        "moderated first"
    );
    let got = wait_for_mail(&mails, 1).await;
    assert!(got[0].contains("To: coordination@lens.test"));

    let staff = app.login("coordinator").await;
    let ideas = maillage::storage::participation::list_ideas(&app.db, lens(&app).await, false)
        .await
        .unwrap();
    let id = ideas[0].id;
    // Declined without a reason: refused.
    let r = post_form(
        &app,
        &staff,
        "/admin/t/lens-lievin/participation",
        &format!("/admin/t/lens-lievin/idees/{id}"),
        &[("status", "declined"), ("version", "1")],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("indiquez le motif du refus"));
    let r = post_form(
        &app,
        &staff,
        "/admin/t/lens-lievin/participation",
        &format!("/admin/t/lens-lievin/idees/{id}"),
        &[
            ("status", "published"),
            ("answer", "Merci <b>Léa</b>, c’est noté."),
            ("version", "1"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post_form(
        &app,
        &staff,
        "/admin/t/lens-lievin/participation",
        &format!("/admin/t/lens-lievin/idees/{id}"),
        &[("status", "declined"), ("reason", "x"), ("version", "1")],
    )
    .await;
    assert_eq!(r.status(), 409, "stale moderation");
    // A second idea is merged into the first, which led to fiche action 1.1.1.
    seed_action(&app).await;
    let r = post_form(
        &app,
        &c,
        "/t/lens-lievin/idees",
        "/t/lens-lievin/idees",
        &[("kind", "idea"), ("text", "Des bancs, encore des bancs")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let ideas = maillage::storage::participation::list_ideas(&app.db, lens(&app).await, false)
        .await
        .unwrap();
    let second = ideas
        .iter()
        .find(|i| i.text.starts_with("Des bancs"))
        .unwrap()
        .id;
    let merge_into = id.to_string();
    let r = post_form(
        &app,
        &staff,
        "/admin/t/lens-lievin/participation",
        &format!("/admin/t/lens-lievin/idees/{second}"),
        &[("status", "merged"), ("version", "1")],
    )
    .await;
    assert_eq!(r.status(), 422, "merge needs its target");
    let r = post_form(
        &app,
        &staff,
        "/admin/t/lens-lievin/participation",
        &format!("/admin/t/lens-lievin/idees/{second}"),
        &[
            ("status", "merged"),
            ("merged_into", &merge_into),
            ("version", "1"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post_form(
        &app,
        &staff,
        "/admin/t/lens-lievin/participation",
        &format!("/admin/t/lens-lievin/idees/{id}"),
        &[
            ("status", "published"),
            ("answer", "Merci <b>Léa</b>, c’est noté."),
            ("action_code", "4.4.4"),
            ("version", "2"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Aucune fiche action « 4.4.4 »"));
    let r = post_form(
        &app,
        &staff,
        "/admin/t/lens-lievin/participation",
        &format!("/admin/t/lens-lievin/idees/{id}"),
        &[
            ("status", "published"),
            ("answer", "Merci <b>Léa</b>, c’est noté."),
            ("action_code", "1.1.1"),
            ("version", "2"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let html = page(&c, &app.url("/t/lens-lievin/idees")).await;
    assert!(html.contains("href=\"/t/lens-lievin/actions/1.1.1\""));
    assert!(
        !html.contains("encore des bancs"),
        "merged ideas are not listed"
    );
    assert!(html.contains("Un banc &#60;script&#62;") || html.contains("Un banc &lt;script&gt;"));
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("Merci &#60;b&#62;Léa") || html.contains("Merci &lt;b&gt;Léa"));
    assert!(html.contains("Liévin") && !html.contains("lea@exemple.test"));
    let api: Vec<serde_json::Value> = c
        .get(app.url("/api/v1/participation/lens-lievin/ideas"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api.len(), 1);
    assert!(!api[0].to_string().contains("lea@exemple.test"));

    // Contact form: stored, e-mailed, deletable.
    let r = post_form(
        &app,
        &c,
        "/t/lens-lievin/contact",
        "/t/lens-lievin/contact",
        &[
            ("name", "Sam"),
            ("email", "sam@exemple.test"),
            ("subject", "Groupe de travail"),
            ("message", "Comment participer ?"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422, "consent required");
    assert!(r.text().await.unwrap().contains("Comment participer ?"));
    let r = post_form(
        &app,
        &c,
        "/t/lens-lievin/contact",
        "/t/lens-lievin/contact",
        &[
            ("name", "Sam"),
            ("email", "sam@exemple.test"),
            ("subject", "Groupe de travail"),
            ("message", "Comment participer ?"),
            ("consent", "oui"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    let got = wait_for_mail(&mails, 3).await;
    assert!(got
        .iter()
        .any(|m| m.contains("Contact : Groupe de travail") && m.contains("Comment participer ?")));
    let admin = page(&staff, &app.url("/admin/t/lens-lievin/participation")).await;
    assert!(admin.contains("Comment participer ?"));
    let msgs = maillage::storage::participation::contact_messages(&app.db, lens(&app).await)
        .await
        .unwrap();
    let r = post_form(
        &app,
        &staff,
        "/admin/t/lens-lievin/participation",
        &format!("/admin/t/lens-lievin/messages/{}/suppression", msgs[0].id),
        &[("confirme", "oui")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(
        !page(&staff, &app.url("/admin/t/lens-lievin/participation"))
            .await
            .contains("Comment participer ?")
    );
    app.stop().await;
}
both!(idea_box_moderation_and_contact);

async fn anti_spam_fill_time_and_rate_limit(backend: Backend) {
    // Default settings: a form must stay on screen a few seconds.
    let app = TestApp::start(backend).await;
    let c = app.client();
    let fields = [
        ("name", "Sam"),
        ("email", "sam@exemple.test"),
        ("subject", "Objet"),
        ("message", "Bonjour"),
        ("consent", "oui"),
    ];
    let r = post_form(
        &app,
        &c,
        "/t/lens-lievin/contact",
        "/t/lens-lievin/contact",
        &fields,
    )
    .await;
    assert_eq!(r.status(), 422);
    let t = r.text().await.unwrap();
    assert!(t.contains("très vite") && t.contains("value=\"Sam\""));
    let html = page(&c, &app.url("/t/lens-lievin/contact")).await;
    let csrf = extract_csrf(&html).unwrap();
    let send = |stamp: String| {
        let mut pairs: Vec<(&str, String)> = vec![
            ("_csrf", csrf.clone()),
            ("_t", stamp),
            ("site_web", String::new()),
        ];
        pairs.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
        c.post(app.url("/t/lens-lievin/contact"))
            .form(&pairs)
            .send()
    };
    // A forged stamp.
    let now = chrono::Utc::now().timestamp();
    let r = send(format!("{}.forged", now - 60)).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("a expiré"));
    // A genuine stamp from a minute ago passes, ten times; the eleventh is rate-limited.
    let old = maillage::web::participation::antispam::stamp_at(&app.state.secret, now - 60);
    for i in 0..10 {
        let r = send(old.clone()).await.unwrap();
        assert_eq!(r.status(), 200, "message {i}");
    }
    let r = send(old.clone()).await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("Trop d’envois"));
    app.stop().await;
}
both!(anti_spam_fill_time_and_rate_limit);

async fn api_and_openapi(backend: Backend) {
    let app = TestApp::start_with(backend, quick()).await;
    let staff = app.login("coordinator").await;
    let gid = create_group(&app, &staff, "Groupe jeunesse", "12", true).await;
    let c = app.client();
    let bodies: Vec<serde_json::Value> = c
        .get(app.url("/api/v1/participation/lens-lievin/bodies"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["capacity"], 12);
    assert_eq!(bodies[0]["kind"], "working_group");
    let meetings: Vec<serde_json::Value> = c
        .get(app.url(&format!(
            "/api/v1/participation/lens-lievin/bodies/{gid}/meetings"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(meetings.is_empty());
    build_questionnaire(&app, &staff).await;
    let cs: Vec<serde_json::Value> = c
        .get(app.url("/api/v1/participation/lens-lievin/consultations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cs[0]["questions"].as_array().unwrap().len(), 5);
    assert_eq!(cs[0]["open"], true);
    assert_eq!(
        c.get(app.url("/api/v1/participation/nulle-part/bodies"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let doc: serde_json::Value = c
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in [
        "/api/v1/participation/{territory}/bodies",
        "/api/v1/participation/{territory}/bodies/{body}/meetings",
        "/api/v1/participation/{territory}/consultations",
        "/api/v1/participation/{territory}/consultations/{consultation}/results",
        "/api/v1/participation/{territory}/ideas",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
    app.stop().await;
}
both!(api_and_openapi);

/// Files of a group's space: uploaded by the coordinator (type checked),
/// downloaded by the group's members only, removed with their bytes.
async fn files_of_the_members_space(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        document_dir: Some(dir.path().to_owned()),
        ..quick()
    };
    let app = TestApp::start_with(backend, config).await;
    let staff = app.login("coordinator").await;
    let gid = create_group(&app, &staff, "Groupe santé mentale", "", true).await;
    let body_admin = format!("/admin/t/lens-lievin/instances/{gid}");
    let r = post_form(
        &app,
        &staff,
        &body_admin,
        &format!("{body_admin}/membres"),
        &[("name", "Marie Membre"), ("account", "member@lens.test")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let token = csrf_from(&staff, &app.url(&body_admin)).await;
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("title", "Compte rendu du 12 juin")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
        staff
            .post(app.url(&format!("{body_admin}/fichiers?_csrf={token}")))
            .multipart(form)
    };
    let r = upload("cr.pdf", b"<script>alert(1)</script>".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("ni un PDF"));
    let pdf = b"%PDF-1.7\n% compte rendu\n".to_vec();
    assert_eq!(
        upload("cr.pdf", pdf.clone()).send().await.unwrap().status(),
        303
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let doc = maillage::storage::participation::documents(&app.db, gid)
        .await
        .unwrap()[0]
        .clone();
    let url = app.url(&format!(
        "/t/lens-lievin/groupes/{gid}/espace/documents/{}",
        doc.id
    ));

    let member = app.login("member").await;
    let space = page(
        &member,
        &app.url(&format!("/t/lens-lievin/groupes/{gid}/espace")),
    )
    .await;
    assert!(space.contains(&format!("/espace/documents/{}", doc.id)));
    let r = member.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);
    for who in ["partner", "other_coordinator", "inhabitant"] {
        let c = app.login(who).await;
        assert_eq!(c.get(&url).send().await.unwrap().status(), 404, "{who}");
    }
    let r = app.client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 303, "anonymous: to the sign-in page");

    let r = post_form(
        &app,
        &staff,
        &body_admin,
        &format!("{body_admin}/documents/supprimer"),
        &[("confirme", "oui"), ("document", &doc.id.to_string())],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(member.get(&url).send().await.unwrap().status(), 404);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    app.stop().await;
}
both!(files_of_the_members_space);

/// A meeting's invitation goes by e-mail to the invited members who left an
/// address, and the audit trail says so.
async fn meeting_invitation_by_email(backend: Backend) {
    let (port, mails) = smtp_sink().await;
    let config = Config {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        ..quick()
    };
    let app = TestApp::start_with(backend, config).await;
    let staff = app.login("coordinator").await;
    let gid = create_group(&app, &staff, "Groupe nutrition", "", true).await;
    let body_admin = format!("/admin/t/lens-lievin/instances/{gid}");
    for (name, email) in [("Awa Diallo", "awa@exemple.test"), ("Sans Adresse", "")] {
        let r = post_form(
            &app,
            &staff,
            &body_admin,
            &format!("{body_admin}/membres"),
            &[("name", name), ("email", email)],
        )
        .await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    }
    let r = post_form(
        &app,
        &staff,
        &body_admin,
        &format!("{body_admin}/reunions"),
        &[
            ("title", "Atelier de lancement"),
            ("date", "2031-06-12"),
            ("time", "09:30"),
            ("place", "Centre social Dumas"),
            ("agenda", "Tour de table"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let meeting_url = location(&r);
    let r = post_form(
        &app,
        &staff,
        &meeting_url,
        &format!("{meeting_url}/invitation"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 303);
    let got = wait_for_mail(&mails, 1).await;
    assert_eq!(got.len(), 1, "only the member with an address");
    assert!(got[0].contains("To: awa@exemple.test"));
    for s in [
        "Atelier de lancement",
        "Groupe nutrition",
        "12 juin 2031",
        "Centre social Dumas",
        "Tour de table",
    ] {
        assert!(got[0].contains(s), "{s} missing in {}", got[0]);
    }
    let meeting_id = meeting_url.rsplit('/').next().unwrap();
    let trail = maillage::storage::audit::for_entity(&app.db, "meeting", meeting_id, 5)
        .await
        .unwrap();
    assert!(trail[0].details.contains("1 membre"));
    app.stop().await;
}
both!(meeting_invitation_by_email);
