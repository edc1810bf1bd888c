//! How many statements a public page costs, uncached (issue 14: « every
//! public page in one or two queries »), counted by PostgreSQL itself.
//!
//! Each statement the application runs outside a transaction is one
//! transaction for PostgreSQL, so `pg_stat_database.xact_commit` of a
//! database used by this test alone counts them (a statement inside an
//! explicit transaction would hide: the pages read with plain statements).
//! Backends report their counts lazily (up to ten seconds after going
//! idle), so the application gets a pool of one connection, and around each
//! request the test runs `pg_stat_force_next_flush()` on that same
//! connection (one statement, subtracted), then reads the count from
//! another database until it no longer moves. `/sante` (one `SELECT 1`)
//! checks that the method counts what it should.
//!
//! The server runs without its background loops (outbox, housekeeping),
//! which would add their own statements, and without the micro-cache.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::{fresh_db, postgres_admin_url, Backend, TestDb};
use maillage::config::Config;
use maillage::storage::Db;
use maillage::web::AppState;
use sqlx::postgres::PgPool;

struct Counted {
    tdb: TestDb,
    /// The demo's pages: (the fiche with computed indicators, a fiche
    /// without, the contract, an event).
    pages: DemoPages,
    /// The application's pool: one connection.
    app_pool: PgPool,
    admin: PgPool,
    name: String,
    base: String,
    client: reqwest::Client,
}

impl Counted {
    async fn start() -> Counted {
        let tdb = fresh_db(Backend::Postgres).await;
        maillage::demo::load(&tdb.db).await.expect("demo");
        let pages = demo_pages(&tdb.db).await;
        // Its backends report what they did when they exit.
        tdb.db.close().await;
        let app_pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&tdb.url)
            .await
            .expect("application pool");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let config = Config {
            database_url: tdb.url.clone(),
            addr,
            public_url: format!("http://{addr}"),
            public_cache_ttl: Duration::ZERO,
            ..Config::default()
        };
        let state = AppState::new(Db::Postgres(app_pool.clone()), config)
            .await
            .expect("state");
        let app = maillage::web::app(state);
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        let admin = match Db::connect(&postgres_admin_url()).await.expect("admin") {
            Db::Postgres(p) => p,
            Db::Sqlite(_) => unreachable!("the admin URL is PostgreSQL's"),
        };
        let name = tdb.url.rsplit('/').next().unwrap().to_owned();
        Counted {
            tdb,
            pages,
            app_pool,
            admin,
            name,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
        }
    }

    /// The database's committed transactions once the application's
    /// connection has reported its own (the flush request counts one).
    async fn settled_count(&self) -> i64 {
        // A table read too: without pending table statistics the forced
        // flush skips the transaction counts (seen on PostgreSQL 15).
        sqlx::query("SELECT pg_stat_force_next_flush(), (SELECT COUNT(*) FROM instance_settings)")
            .execute(&self.app_pool)
            .await
            .expect("flush");
        let mut last = -1;
        let mut same = 0;
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let (n,): (i64,) =
                sqlx::query_as("SELECT xact_commit FROM pg_stat_database WHERE datname = $1")
                    .bind(&self.name)
                    .fetch_one(&self.admin)
                    .await
                    .expect("stat");
            if n == last {
                same += 1;
                if same == 3 {
                    return n;
                }
            } else {
                same = 0;
            }
            last = n;
        }
        panic!("the transaction count of {} did not settle", self.name);
    }

    /// Statements run to answer `GET path` (after one request that warms
    /// up the process: statement caches, the agenda's world). The fewest
    /// of three tries: autovacuum may commit in between, never less.
    async fn statements(&self, path: &str) -> i64 {
        let url = format!("{}{}", self.base, path);
        let warm = self.client.get(&url).send().await.expect("get");
        assert_eq!(warm.status(), 200, "{path}");
        let mut fewest = i64::MAX;
        for _ in 0..3 {
            let before = self.settled_count().await;
            let resp = self.client.get(&url).send().await.expect("get");
            assert_eq!(resp.status(), 200, "{path}");
            let body = resp.text().await.unwrap();
            assert!(!body.is_empty());
            let after = self.settled_count().await;
            fewest = fewest.min(after - before - 1);
        }
        fewest
    }

    async fn stop(self) {
        self.app_pool.close().await;
        self.admin.close().await;
        self.tdb.cleanup().await;
    }
}

struct DemoPages {
    computed_fiche: String,
    plain_fiche: String,
    contract: String,
    event: String,
}

async fn demo_pages(db: &Db) -> DemoPages {
    let Db::Postgres(pool) = db else {
        unreachable!("counted on PostgreSQL")
    };
    let one = |sql: &'static str| async move {
        sqlx::query_scalar::<_, String>(sql)
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    DemoPages {
        computed_fiche: one(
            "SELECT '/t/lens-lievin/actions/' || a.code FROM actions a WHERE EXISTS \
             (SELECT 1 FROM indicators i WHERE i.action_id = a.id AND i.source NOT IN ('', 'manual')) \
             ORDER BY a.id LIMIT 1",
        )
        .await,
        plain_fiche: one(
            "SELECT '/t/lens-lievin/actions/' || a.code FROM actions a WHERE NOT EXISTS \
             (SELECT 1 FROM indicators i WHERE i.action_id = a.id AND i.source NOT IN ('', 'manual')) \
             ORDER BY a.id LIMIT 1",
        )
        .await,
        contract: one("SELECT '/t/lens-lievin/contrat/' || CAST(MIN(id) AS TEXT) FROM contracts").await,
        event: one(
            "SELECT '/t/lens-lievin/evenements/' || CAST(MIN(id) AS TEXT) FROM events \
             WHERE status <> 'cancelled'",
        )
        .await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_read_in_one_or_two_statements() {
    let app = Counted::start().await;
    // The method counts: `/sante` runs one `SELECT 1`.
    assert_eq!(app.statements("/sante").await, 1, "/sante");
    // Pages measured: (path, most statements allowed). The demo's
    // mediation fiche has computed indicators (drop-ins held, people
    // received), the first fiche none.
    let p = &app.pages;
    let pages: [(&str, Option<i64>); 5] = [
        (&p.computed_fiche, Some(2)),
        (&p.plain_fiche, Some(1)),
        ("/t/lens-lievin/", Some(2)),
        (&p.contract, None),
        (&p.event, None),
    ];
    let mut counts = Vec::new();
    for (path, _) in pages {
        counts.push((path, app.statements(path).await));
    }
    eprintln!("statements per page, uncached: {counts:?}");
    for ((path, n), (_, at_most)) in counts.iter().zip(pages) {
        if let Some(at_most) = at_most {
            assert!(
                *n <= at_most,
                "{path} ran {n} statements (at most {at_most}); all: {counts:?}"
            );
        }
    }
    app.stop().await;
}

/// The public fiche's computed indicators, from the facts its one statement
/// reads and the cached drop-in schedule, equal those the back office
/// computes (`evaluation::for_action`, which reads the facts itself); and
/// what the statement reads is the fiche's.
async fn public_fiche_reads_what_the_back_office_computes(backend: Backend) {
    use maillage::storage::{contract, public_pages, territories};
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let plan_contract = contract::list(db, t.id).await.unwrap().remove(0);
    let plan = contract::plan(db, plan_contract.id).await.unwrap();
    let today = maillage::web::agenda::today_paris();
    let world = maillage::web::agenda::series_world(db, t.id).await.unwrap();
    let mut computed_seen = 0;
    for a in &plan.actions {
        let page = public_pages::action_page(db, "lens-lievin", &a.code)
            .await
            .unwrap()
            .expect("the fiche");
        assert_eq!(page.action.id, a.id);
        assert_eq!(page.contract.id, plan_contract.id);
        assert_eq!(page.territory_id, t.id);
        let expected = maillage::evaluation::for_action(db, &page.contract, a.id, today)
            .await
            .unwrap();
        let mut got = page.indicators.clone();
        let has_computed = got.iter().any(|(i, _)| i.is_computed());
        assert_eq!(page.computed.is_some(), has_computed, "{}", a.code);
        if let Some(input) = page.computed {
            let inds: Vec<_> = got.iter().map(|(i, _)| i.clone()).collect();
            let mut values = maillage::evaluation::computed_for_action(
                world
                    .items
                    .iter()
                    .map(|(s, schedule, e)| (s.id, schedule, e.as_slice())),
                input.rows,
                &input.sources,
                &page.contract,
                &page.action,
                &inds,
                today,
            );
            for (i, ms) in &mut got {
                if let Some(m) = values.remove(&i.id) {
                    *ms = m;
                }
            }
            computed_seen += got
                .iter()
                .filter(|(i, ms)| i.is_computed() && !ms.is_empty())
                .count();
        }
        assert_eq!(got, expected, "indicators of {}", a.code);
    }
    assert!(
        computed_seen > 0,
        "the demo has computed indicators with values"
    );
    // Unknown territory, unknown code, the regional owner: nothing.
    assert!(public_pages::action_page(db, "lens-lievin", "9.9.9")
        .await
        .unwrap()
        .is_none());
    assert!(
        public_pages::action_page(db, "nulle-part", &plan.actions[0].code)
            .await
            .unwrap()
            .is_none()
    );
    tdb.cleanup().await;
}
both!(public_fiche_reads_what_the_back_office_computes);

/// The home's one statement reads what the storage functions it replaces
/// read: communes, QPV, contracts, and the next event sessions with their
/// events and seat counts (`agenda_sessions`, `fill_seat_counts`,
/// `events_by_ids`); and the stamp of the drop-in schedule.
async fn home_reads_what_the_storage_functions_read(backend: Backend) {
    use maillage::storage::{agenda, contract, public_pages, territories};
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now();
    let home = public_pages::home(db, "lens-lievin", now)
        .await
        .unwrap()
        .expect("the home");
    assert_eq!(home.territory, t);
    assert_eq!(
        home.communes,
        territories::communes(db, t.id).await.unwrap()
    );
    assert_eq!(home.qpvs, territories::qpvs(db, t.id).await.unwrap());
    assert!(!home.qpvs.is_empty() && !home.communes.is_empty());
    let contracts: Vec<(i64, String)> = contract::list(db, t.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.title))
        .collect();
    assert_eq!(home.contracts, contracts);
    assert_eq!(
        home.schedule_stamp,
        agenda::schedule_stamp(db, t.id).await.unwrap()
    );
    let filter = agenda::AgendaFilter {
        from: now,
        until: None,
        insee_code: None,
        audience: None,
        theme: None,
    };
    let (mut sessions, _) = agenda::agenda_sessions(db, t.id, &filter, public_pages::HOME_SESSIONS)
        .await
        .unwrap();
    agenda::fill_seat_counts(db, &mut sessions).await.unwrap();
    let ids: Vec<i64> = sessions.iter().map(|s| s.event_id).collect();
    let events = agenda::events_by_ids(db, t.id, &ids).await.unwrap();
    let expected: Vec<_> = sessions
        .into_iter()
        .map(|s| {
            let e = events.iter().find(|e| e.id == s.event_id).unwrap().clone();
            (e, s)
        })
        .collect();
    assert!(!expected.is_empty(), "the demo has coming sessions");
    assert!(
        expected.iter().any(|(_, s)| s.taken > 0),
        "the demo has registrations"
    );
    assert_eq!(home.sessions, expected);
    assert!(public_pages::home(db, "nulle-part", now)
        .await
        .unwrap()
        .is_none());
    tdb.cleanup().await;
}
both!(home_reads_what_the_storage_functions_read);
