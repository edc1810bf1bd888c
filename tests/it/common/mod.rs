//! Test bench: a fresh database per test (SQLite file or a new PostgreSQL
//! database), and the real server bound to port 0.
#![allow(dead_code)]

pub mod fake_brevo;

use std::collections::HashMap;
use std::net::SocketAddr;

use maillage::accounts;
use maillage::config::Config;
use maillage::domain::roles::{InstanceRole, Role};
use maillage::storage::audit::Actor;
use maillage::storage::{territories, users, Db};
use maillage::web::AppState;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Run an async test body once per backend: `both!(name)` expects
/// `async fn name(backend: Backend)` in scope.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    };
}

pub struct TestDb {
    pub db: Db,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub fn postgres_admin_url() -> String {
    std::env::var("MAILLAGE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A new, migrated, empty database.
pub async fn fresh_db(backend: Backend) -> TestDb {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            let db = Db::connect(&url).await.expect("sqlite");
            db.migrate().await.expect("migrate sqlite");
            TestDb {
                db,
                url,
                _dir: Some(dir),
            }
        }
        Backend::Postgres => {
            let admin_url = postgres_admin_url();
            let admin = Db::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!("PostgreSQL is needed for this test ({admin_url}): {e}. Run scripts/test.sh, which sets it up.")
            });
            let name = format!(
                "maillage_t_{}",
                accounts::random_token()
                    .to_lowercase()
                    .replace(['-', '_'], "")[..16]
                    .to_owned()
            );
            if let Db::Postgres(pool) = &admin {
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(pool)
                    .await
                    .expect("create database");
            }
            admin.close().await;
            let base = admin_url
                .rsplit_once('/')
                .map(|(b, _)| b)
                .unwrap_or(&admin_url);
            let url = format!("{base}/{name}");
            let db = Db::connect(&url).await.expect("connect test database");
            db.migrate().await.expect("migrate postgres");
            TestDb {
                db,
                url,
                _dir: None,
            }
        }
    }
}

impl TestDb {
    /// Drop the PostgreSQL database (SQLite files go with the temp dir).
    pub async fn cleanup(self) {
        self.db.close().await;
        if self.url.starts_with("postgres") {
            let name = self.url.rsplit('/').next().unwrap_or_default().to_owned();
            if let Ok(Db::Postgres(pool)) = Db::connect(&postgres_admin_url()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&pool)
                    .await;
                pool.close().await;
            }
        }
    }
}

/// The accounts of the test world, by role name.
#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub password: String,
    pub id: i64,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub db: Db,
    pub state: AppState,
    pub accounts: HashMap<&'static str, Account>,
    testdb: Option<TestDb>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub const PASSWORD: &str = "une phrase de passe solide";

async fn account(db: &Db, email: &str, role: InstanceRole) -> Account {
    let u = accounts::create_user(db, &Actor::system("test"), email, email, PASSWORD, role)
        .await
        .expect("user");
    Account {
        email: email.to_owned(),
        password: PASSWORD.to_owned(),
        id: u.id,
    }
}

impl TestApp {
    /// The demo territory (lens-lievin) with a coordinator, a partner, a
    /// member; an inhabitant account with no role; regional and admin staff;
    /// and another territory (mond-arverne) with its own coordinator.
    pub async fn start(backend: Backend) -> TestApp {
        Self::start_with(backend, Config::default()).await
    }

    pub async fn start_with(backend: Backend, config: Config) -> TestApp {
        let tdb = fresh_db(backend).await;
        let db = tdb.db.clone();
        maillage::demo::load_geography(&db)
            .await
            .expect("geography");
        maillage::demo::load_directory(&db)
            .await
            .expect("directory");
        let actor = Actor::system("test");
        let lens = territories::create(
            &db,
            &actor,
            &maillage::domain::territory::NewTerritory {
                slug: maillage::domain::codes::Slug::parse("lens-lievin").unwrap(),
                name: "Communauté d'agglomération de Lens-Liévin".into(),
                kind: maillage::domain::territory::TerritoryKind::Epci,
            },
        )
        .await
        .expect("territory");
        territories::set_communes(
            &db,
            &actor,
            lens.id,
            Some("246200364"),
            &["62498".into(), "62510".into()],
        )
        .await
        .expect("communes");
        let other = territories::create(
            &db,
            &actor,
            &maillage::domain::territory::NewTerritory {
                slug: maillage::domain::codes::Slug::parse("mond-arverne").unwrap(),
                name: "Mond'Arverne Communauté".into(),
                kind: maillage::domain::territory::TerritoryKind::Epci,
            },
        )
        .await
        .expect("territory");

        let mut accounts = HashMap::new();
        for (key, email, irole, membership) in [
            (
                "coordinator",
                "coord@lens.test",
                InstanceRole::None,
                Some((lens.id, Role::Coordinator)),
            ),
            (
                "partner",
                "partner@lens.test",
                InstanceRole::None,
                Some((lens.id, Role::Partner)),
            ),
            (
                "member",
                "member@lens.test",
                InstanceRole::None,
                Some((lens.id, Role::Member)),
            ),
            (
                "inhabitant",
                "habitant@exemple.test",
                InstanceRole::None,
                None,
            ),
            (
                "other_coordinator",
                "coord@mond-arverne.test",
                InstanceRole::None,
                Some((other.id, Role::Coordinator)),
            ),
            ("regional", "ars@region.test", InstanceRole::Regional, None),
            ("admin", "admin@instance.test", InstanceRole::Admin, None),
            (
                "victim",
                "victim@lens.test",
                InstanceRole::None,
                Some((lens.id, Role::Member)),
            ),
        ] {
            let a = account(&db, email, irole).await;
            if let Some((tid, role)) = membership {
                users::set_membership(&db, &actor, tid, a.id, role)
                    .await
                    .expect("membership");
            }
            accounts.insert(key, a);
        }

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let config = Config {
            database_url: tdb.url.clone(),
            addr,
            public_url: format!("http://{addr}"),
            upload_dir: std::env::temp_dir().join("maillage-test-uploads"),
            ..config
        };
        let state = AppState::new(db.clone(), config).await.expect("state");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(maillage::web::serve(listener, state.clone(), async {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            base: format!("http://{addr}"),
            db,
            state,
            accounts,
            testdb: Some(tdb),
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn account(&self, key: &str) -> &Account {
        self.accounts
            .get(key)
            .unwrap_or_else(|| panic!("no account {key}"))
    }

    /// A browser-like client: keeps cookies, does not follow redirects.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Sign in through the real form; panics if it fails.
    pub async fn login(&self, key: &str) -> reqwest::Client {
        let a = self.account(key).clone();
        let c = self.client();
        let token = csrf_from(&c, &self.url("/admin/connexion")).await;
        let resp = c
            .post(self.url("/admin/connexion"))
            .form(&[
                ("_csrf", token.as_str()),
                ("email", &a.email),
                ("password", &a.password),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            303,
            "login of {key} failed: {}",
            resp.text().await.unwrap_or_default()
        );
        c
    }

    /// A visitor signed in as `role` through the real form: `anonymous`, or
    /// an account of the fixture (`inhabitant`, `member`, `partner`,
    /// `coordinator`, `other_coordinator`, `regional`, `admin`, `victim`).
    pub async fn sign_in_as(&self, role: &str) -> Visitor {
        let client = if role == "anonymous" {
            self.client()
        } else {
            self.login(role).await
        };
        Visitor {
            client,
            base: self.base.clone(),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some(t) = self.testdb.take() {
            t.cleanup().await;
        }
    }
}

/// A browser (cookies kept, redirects not followed), signed in or not.
pub struct Visitor {
    pub client: reqwest::Client,
    pub base: String,
}

impl Visitor {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// GET a page and return its body (any status).
    pub async fn text(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    /// A CSRF token valid for this visitor's current session, read from a
    /// page that always shows a form: the sign-in page, or the password page
    /// when signed in (the sign-in page then redirects).
    pub async fn csrf(&self) -> String {
        for page in ["/admin/connexion", "/admin/mot-de-passe"] {
            if let Some(t) = extract_csrf(&self.text(page).await) {
                return t;
            }
        }
        panic!("no CSRF token for this visitor")
    }

    /// POST a form to `path`, with a CSRF token fetched first.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut form: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        form.extend_from_slice(fields);
        self.client
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

/// GET a page and read the CSRF token out of its first form.
pub async fn csrf_from(c: &reqwest::Client, url: &str) -> String {
    let html = c.get(url).send().await.unwrap().text().await.unwrap();
    extract_csrf(&html).unwrap_or_else(|| panic!("no CSRF field in {url}"))
}

pub fn extract_csrf(html: &str) -> Option<String> {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// GET a page and return its body (any status).
pub async fn text_of(c: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

/// GET a JSON document and return it parsed (any status).
pub async fn json_of(c: &reqwest::Client, url: impl reqwest::IntoUrl) -> serde_json::Value {
    c.get(url).send().await.unwrap().json().await.unwrap()
}

/// Make the account `key` the contact person of a new organisation `name` of
/// the demo territory (what links a partner to the events it organises).
pub async fn link_to_organisation(app: &TestApp, key: &str, name: &str) {
    use maillage::domain::partners::{OrganisationInput, OrganisationKind, PersonInput};
    use maillage::storage::partners;
    let actor = Actor::system("test");
    let lens = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let org = partners::create_organisation(
        &app.db,
        &actor,
        lens.id,
        &OrganisationInput {
            name: name.into(),
            kind: OrganisationKind::Ccas,
            siret: None,
            finess: None,
            website: String::new(),
        },
    )
    .await
    .expect("organisation");
    partners::create_person(
        &app.db,
        &actor,
        lens.id,
        &PersonInput {
            full_name: format!("Contact {key}"),
            organisation_id: Some(org.id),
            job_title: String::new(),
            email: String::new(),
            phone: String::new(),
            consent_on: None,
            public_contact: false,
            account_email: Some(
                maillage::domain::codes::Email::parse(&app.account(key).email).unwrap(),
            ),
        },
    )
    .await
    .expect("person");
}
