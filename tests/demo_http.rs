//! The demo as loaded on first start (`maillage serve --demo`), on SQLite and
//! PostgreSQL: every public page and both calendar feeds have content, and
//! the bugs met while trying it as a newcomer stay fixed.

mod common;

use common::{fresh_db, Backend, TestDb};
use maillage::config::Config;
use maillage::web::AppState;
use tokio::sync::oneshot;

struct Demo {
    base: String,
    db: maillage::storage::Db,
    tdb: Option<TestDb>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Demo {
    async fn start(backend: Backend) -> Demo {
        let tdb = fresh_db(backend).await;
        let db = tdb.db.clone();
        let accounts = maillage::demo::load(&db).await.expect("demo");
        assert!(accounts.is_some(), "the demo loads once");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let config = Config {
            database_url: tdb.url.clone(),
            addr,
            public_url: format!("http://{addr}"),
            form_min_fill_secs: 0,
            ..Config::default()
        };
        let state = AppState::new(db.clone(), config).await.expect("state");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(maillage::web::serve(listener, state, async {
            let _ = rx.await;
        }));
        Demo {
            base: format!("http://{addr}"),
            db,
            tdb: Some(tdb),
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
        if let Some(t) = self.tdb.take() {
            t.cleanup().await;
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn ok_page(c: &reqwest::Client, url: &str) -> String {
    let resp = c.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.text().await.unwrap()
}

async fn demo_pages_have_content(backend: Backend) {
    let app = Demo::start(backend).await;
    let c = client();
    let t = "/t/lens-lievin";

    let perm = ok_page(&c, &app.url(&format!("{t}/permanences"))).await;
    for commune in ["Lens", "Liévin", "Avion", "Sallaumines", "Harnes"] {
        assert!(
            perm.contains(&format!("<h2>{commune}</h2>")),
            "permanences in {commune}"
        );
    }
    assert!(perm.contains("annulée"), "a cancelled date");
    assert!(perm.contains("horaire ou lieu modifié"), "a moved date");

    let agenda = ok_page(&c, &app.url(&format!("{t}/agenda"))).await;
    for title in [
        "Bien manger avec un petit budget",
        "Journée santé et contrat de ville",
        "Initiation aux premiers secours",
        "Forum santé des jeunes",
    ] {
        assert!(agenda.contains(title), "agenda shows {title}");
    }

    // The public meeting announced on /participer is in the agenda too.
    assert!(
        agenda.contains("Rencontre publique : santé mentale des jeunes"),
        "public meeting in the agenda"
    );
    let agenda_ics = ok_page(&c, &app.url(&format!("{t}/agenda.ics"))).await;
    assert!(agenda_ics.contains("SUMMARY:Rencontre publique : santé mentale des jeunes"));

    for feed in ["permanences.ics", "agenda.ics"] {
        let ics = ok_page(&c, &app.url(&format!("{t}/{feed}"))).await;
        assert!(
            ics.matches("BEGIN:VEVENT").count() >= 4,
            "{feed} has events:\n{ics}"
        );
    }
    let perm_ics = ok_page(&c, &app.url(&format!("{t}/permanences.ics"))).await;
    assert!(perm_ics.contains("EXDATE"), "cancelled date and holiday");
    assert!(perm_ics.contains("RECURRENCE-ID"), "moved date");

    let participer = ok_page(&c, &app.url(&format!("{t}/participer"))).await;
    for what in [
        "Groupe de travail santé mentale",
        "Votre accès aux soins",
        "Rencontre publique",
    ] {
        assert!(participer.contains(what), "/participer shows {what}");
    }

    // The workshop is full with a waiting list; the professionals' day is
    // confirmed with a morning for professionals and an afternoon for all.
    let tid = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let events = maillage::storage::agenda::list_events(&app.db, tid)
        .await
        .unwrap();
    let by_title = |s: &str| events.iter().find(|e| e.title.contains(s)).unwrap();
    let workshop = by_title("Bien manger");
    let sessions = maillage::storage::agenda::sessions(&app.db, workshop.id)
        .await
        .unwrap();
    assert_eq!(sessions[0].capacity, Some(sessions[0].taken));
    assert!(sessions[0].waiting > 0);
    let pro = by_title("Journée santé");
    assert_eq!(pro.status, "confirmed");
    let sessions = maillage::storage::agenda::sessions(&app.db, pro.id)
        .await
        .unwrap();
    let audiences: Vec<&str> = sessions.iter().map(|s| s.audience.as_str()).collect();
    assert_eq!(audiences, ["professionals", "public"]);
    let page = ok_page(&c, &app.url(&format!("{t}/evenements/{}", pro.id))).await;
    assert!(page.contains("Réservé aux professionnels"));

    // The other public pages answer with content.
    for path in [
        format!("{t}/"),
        format!("{t}/annuaire"),
        format!("{t}/idees"),
        format!("{t}/evenements/{}", workshop.id),
    ] {
        let body = ok_page(&c, &app.url(&path)).await;
        assert!(body.len() > 1000, "{path}");
    }
    app.stop().await;
}
both!(demo_pages_have_content);
