//! The storage conformance suite: every test runs on SQLite and PostgreSQL.

use crate::common;

use chrono::{Duration, Utc};
use common::{fresh_db, Backend};
use maillage::accounts::{self, token_hash};
use maillage::domain::codes::Slug;
use maillage::domain::roles::{InstanceRole, Role};
use maillage::domain::territory::{NewTerritory, ProfileInput, TerritoryKind};
use maillage::import::geography;
use maillage::storage::audit::{self, Actor};
use maillage::storage::{communes, rate_limit, sessions, territories, users, Db, DbError};

fn new_territory(slug: &str) -> NewTerritory {
    NewTerritory {
        slug: Slug::parse(slug).unwrap(),
        name: format!("Territoire {slug}"),
        kind: TerritoryKind::Epci,
    }
}

fn actor() -> Actor {
    Actor::system("test")
}

async fn geography_import_and_reimport(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let c = geography::import_communes(db, maillage::demo::COMMUNES_JSON)
        .await
        .unwrap();
    assert_eq!((c.total, c.added, c.changed), (92, 92, 0));
    let again = geography::import_communes(db, maillage::demo::COMMUNES_JSON)
        .await
        .unwrap();
    assert_eq!(
        (again.added, again.changed),
        (0, 0),
        "an identical re-import changes nothing"
    );
    let renamed = String::from_utf8_lossy(maillage::demo::COMMUNES_JSON).replacen(
        "\"Lens\"",
        "\"Lens (renommée)\"",
        1,
    );
    let changed = geography::import_communes(db, renamed.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        (changed.added, changed.changed),
        (0, 1),
        "one commune renamed"
    );
    let back = geography::import_communes(db, maillage::demo::COMMUNES_JSON)
        .await
        .unwrap();
    assert_eq!((back.added, back.changed), (0, 1));
    let e = geography::import_epcis(db, maillage::demo::EPCI_JSON)
        .await
        .unwrap();
    assert_eq!(e.added, 3);
    let e = geography::import_epcis(db, maillage::demo::EPCI_JSON)
        .await
        .unwrap();
    assert_eq!((e.added, e.changed), (0, 0));
    let q = geography::import_qpvs(db, maillage::demo::QPV_CSV)
        .await
        .unwrap();
    assert_eq!(q.added, 3);
    let q = geography::import_qpvs(db, maillage::demo::QPV_CSV)
        .await
        .unwrap();
    assert_eq!((q.added, q.changed), (0, 0));

    let lens = communes::get_commune(db, "62498").await.unwrap().unwrap();
    assert_eq!(lens.name, "Lens");
    assert!(lens.population.unwrap() > 30_000);
    let members = communes::epci_communes(db, "246200364").await.unwrap();
    assert_eq!(members.len(), 36);
    // Accent- and case-insensitive search, ordered by population.
    let found = communes::search_communes(db, "LIEVIN", 5).await.unwrap();
    assert_eq!(found[0].insee_code, "62510");
    assert_eq!(
        communes::epci_of_commune(db, "62510")
            .await
            .unwrap()
            .unwrap()
            .siren,
        "246200364"
    );
    assert_eq!(
        communes::qpv_communes(db, "QN06203M").await.unwrap(),
        vec!["62570", "62771"]
    );
    let epcis = communes::search_epcis(db, "mond'arverne", 5).await.unwrap();
    assert_eq!(epcis.len(), 1);
    t.cleanup().await;
}
both!(geography_import_and_reimport);

async fn a_bad_file_changes_nothing(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    geography::import_communes(db, maillage::demo::COMMUNES_JSON)
        .await
        .unwrap();
    // One good line that would rename Lens, one bad line: nothing is written.
    let bad =
        "[\n{\"code\":\"62498\",\"nom\":\"Lens renommée\"},\n{\"code\":\"ABCDE\",\"nom\":\"X\"}\n]";
    let err = geography::import_communes(db, bad.as_bytes())
        .await
        .unwrap_err();
    assert_eq!(err.lines()[0].line, Some(3));
    assert_eq!(
        communes::get_commune(db, "62498")
            .await
            .unwrap()
            .unwrap()
            .name,
        "Lens"
    );
    t.cleanup().await;
}
both!(a_bad_file_changes_nothing);

async fn territories_slugs_versions_and_communes(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    geography::import_communes(db, maillage::demo::COMMUNES_JSON)
        .await
        .unwrap();
    geography::import_qpvs(db, maillage::demo::QPV_CSV)
        .await
        .unwrap();
    let a = territories::create(db, &actor(), &new_territory("lens-lievin"))
        .await
        .unwrap();
    assert_eq!(a.version, 1);
    match territories::create(db, &actor(), &new_territory("lens-lievin")).await {
        Err(DbError::Conflict(_)) => {}
        other => panic!("duplicate slug must conflict, got {other:?}"),
    }

    let profile = ProfileInput {
        name: "Lens-Liévin".into(),
        presentation: "<script>x</script>".into(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    let saved = territories::update_profile(db, &actor(), a.id, 1, &profile)
        .await
        .unwrap();
    assert_eq!(saved.version, 2);
    assert_eq!(
        saved.presentation, "<script>x</script>",
        "stored as typed, escaped on output"
    );
    // A form built from version 1 is now stale: nothing is written.
    let other = ProfileInput {
        name: "Autre nom".into(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    assert!(matches!(
        territories::update_profile(db, &actor(), a.id, 1, &other).await,
        Err(DbError::Stale)
    ));
    assert_eq!(
        territories::get(db, a.id).await.unwrap().name,
        "Lens-Liévin"
    );

    territories::set_communes(db, &actor(), a.id, None, &["62498".into(), "62771".into()])
        .await
        .unwrap();
    // An unknown commune is refused by the foreign key and the old set stays.
    let err =
        territories::set_communes(db, &actor(), a.id, None, &["62498".into(), "99999".into()])
            .await;
    assert!(matches!(err, Err(DbError::Conflict(_))), "{err:?}");
    let names: Vec<_> = territories::communes(db, a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, vec!["Lens", "Sallaumines"]);
    let qpvs = territories::qpvs(db, a.id).await.unwrap();
    assert_eq!(qpvs.len(), 2, "{qpvs:?}");

    let list = territories::list(db).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].commune_count, 2);
    assert!(list[0].population > 40_000);

    let history = audit::for_entity(db, "territory", &a.id.to_string(), 10)
        .await
        .unwrap();
    let actions: Vec<_> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        actions,
        vec!["communes", "update", "create"],
        "newest first, failed writes leave no trace"
    );
    t.cleanup().await;
}
both!(territories_slugs_versions_and_communes);

async fn users_memberships_sessions_and_resets(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let terr = territories::create(db, &actor(), &new_territory("lens-lievin"))
        .await
        .unwrap();
    let u = accounts::create_user(
        db,
        &actor(),
        "Camille@Exemple.fr",
        "Camille",
        "une phrase de passe",
        InstanceRole::None,
    )
    .await
    .unwrap();
    assert_eq!(u.email, "camille@exemple.fr");
    assert!(matches!(
        accounts::create_user(
            db,
            &actor(),
            "camille@exemple.fr",
            "",
            "une phrase de passe",
            InstanceRole::None
        )
        .await,
        Err(accounts::AccountError::Exists(_))
    ));
    users::set_membership(db, &actor(), terr.id, u.id, Role::Partner)
        .await
        .unwrap();
    users::set_membership(db, &actor(), terr.id, u.id, Role::Coordinator)
        .await
        .unwrap();
    let m = users::memberships(db, u.id).await.unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].role(), Some(Role::Coordinator));

    // Sessions: live, expired, deleted.
    sessions::create(db, "live", u.id, Utc::now() + Duration::hours(1))
        .await
        .unwrap();
    sessions::create(db, "old", u.id, Utc::now() - Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(sessions::user(db, "live").await.unwrap().unwrap().id, u.id);
    assert!(sessions::user(db, "old").await.unwrap().is_none());

    // A reset token works once and closes every session.
    let token = accounts::issue_reset(db, u.id, 1).await.unwrap();
    assert_eq!(
        users::reset_user(db, &token_hash(&token)).await.unwrap(),
        Some(u.id)
    );
    assert!(users::consume_reset(db, &token_hash(&token), "new-hash")
        .await
        .unwrap());
    assert!(!users::consume_reset(db, &token_hash(&token), "again")
        .await
        .unwrap());
    assert!(sessions::user(db, "live").await.unwrap().is_none());
    assert_eq!(users::password_hash(db, u.id).await.unwrap(), "new-hash");

    users::remove_membership(db, &actor(), terr.id, u.id)
        .await
        .unwrap();
    assert!(matches!(
        users::remove_membership(db, &actor(), terr.id, u.id).await,
        Err(DbError::NotFound)
    ));
    t.cleanup().await;
}
both!(users_memberships_sessions_and_resets);

async fn rate_limits_count_in_a_window(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    for _ in 0..3 {
        rate_limit::record(db, "login", "k").await.unwrap();
    }
    rate_limit::record(db, "login", "other").await.unwrap();
    assert_eq!(
        rate_limit::count_recent(db, "login", "k", Duration::minutes(15))
            .await
            .unwrap(),
        3
    );
    rate_limit::clear(db, "login", "k").await.unwrap();
    assert_eq!(
        rate_limit::count_recent(db, "login", "k", Duration::minutes(15))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        rate_limit::count_recent(db, "login", "other", Duration::minutes(15))
            .await
            .unwrap(),
        1
    );
    t.cleanup().await;
}
both!(rate_limits_count_in_a_window);

async fn the_secret_is_shared(backend: Backend) {
    let t = fresh_db(backend).await;
    let a = maillage::storage::settings::secret(&t.db).await.unwrap();
    let b = maillage::storage::settings::secret(&t.db).await.unwrap();
    assert_eq!(a.len(), 32);
    assert_eq!(a, b, "every process reads the same secret");
    t.cleanup().await;
}
both!(the_secret_is_shared);

/// The bundled SQLite is compiled with the options of `.cargo/config.toml`:
/// the query planner stability guarantee (a statement is not prepared again
/// for each new set of parameters once ANALYZE has run), no memory
/// statistics (a global mutex on every allocation) and no memory management
/// (the connections' page caches behind one global mutex).
#[tokio::test]
async fn bundled_sqlite_has_the_projects_compile_options() {
    let tdb = fresh_db(Backend::Sqlite).await;
    let Db::Sqlite(pool) = &tdb.db else {
        unreachable!("a SQLite base")
    };
    let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options")
        .fetch_all(pool)
        .await
        .unwrap();
    for wanted in [
        "ENABLE_QPSG",
        "DEFAULT_MEMSTATUS=0",
        "ENABLE_FTS5",
        "ENABLE_RTREE",
    ] {
        assert!(
            options.iter().any(|o| o == wanted),
            "{wanted} missing from {options:?}"
        );
    }
    // One page cache per connection, not one group behind a global mutex.
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "{options:?}"
    );
    tdb.cleanup().await;
}

/// Every foreign key leads an index (migration 0031): the pages that gather
/// a fiche action's indicators, documents, decisions and ideas by action,
/// and the deletes that cascade, would otherwise scan the table of the
/// whole instance.
async fn every_foreign_key_has_an_index(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let missing: Vec<(String, String)> = match &tdb.db {
        Db::Sqlite(pool) => sqlx::query_as(
            r#"SELECT m.name, f."from"
               FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
               WHERE m.type = 'table' AND f.seq = 0
                 AND NOT EXISTS (SELECT 1 FROM pragma_index_list(m.name) il
                                 JOIN pragma_index_info(il.name) ii
                                 WHERE ii.seqno = 0 AND ii.name = f."from")
                 AND NOT EXISTS (SELECT 1 FROM pragma_table_info(m.name) ti
                                 WHERE ti.pk = 1 AND ti.name = f."from")
               ORDER BY 1, 2"#,
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        Db::Postgres(pool) => sqlx::query_as(
            "SELECT CAST(CAST(c.conrelid AS regclass) AS TEXT), CAST(a.attname AS TEXT)
             FROM pg_constraint c
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             WHERE c.contype = 'f'
               AND c.connamespace = CAST('public' AS regnamespace)
               AND NOT EXISTS (SELECT 1 FROM pg_index i
                               WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
             ORDER BY 1, 2",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    assert!(
        missing.is_empty(),
        "foreign keys without an index: {missing:?}"
    );
    tdb.cleanup().await;
}
both!(every_foreign_key_has_an_index);

/// SQLite allocates through the process's allocator
/// (`storage::sqlite_memory`), not the C library's `malloc`: a statement
/// that grows, sorts in a temporary B-tree and frees large blocks gives the
/// right answer through it.
#[tokio::test]
async fn sqlite_allocates_through_the_process_allocator() {
    let tdb = fresh_db(Backend::Sqlite).await;
    assert!(maillage::storage::uses_process_allocator());
    let Db::Sqlite(pool) = &tdb.db else {
        unreachable!("a SQLite base")
    };
    let (n, first, last, length): (i64, i64, i64, i64) = sqlx::query_as(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000),
              s AS (SELECT json_group_array(json_array(i, printf('%0500d', i)) ORDER BY i DESC) AS j
                    FROM n)
         SELECT json_array_length(j), json_extract(j, '$[0][0]'), json_extract(j, '$[19999][0]'),
                length(j)
         FROM s",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!((n, first, last), (20000, 20000, 1));
    assert!(length > 20000 * 500, "{length}");
    tdb.cleanup().await;
}

/// A PostgreSQL connection the server closed while it sat idle in the pool
/// is noticed (pinged before use once idle for a few seconds) and replaced:
/// the next statement succeeds. Busy connections are not pinged (sqlx's
/// default pings before every statement, a round trip each).
#[tokio::test]
async fn a_connection_closed_while_idle_is_replaced() {
    let tdb = fresh_db(Backend::Postgres).await;
    let Db::Postgres(pool) = &tdb.db else {
        unreachable!("a PostgreSQL base")
    };
    let (pid, name): (i32, String) =
        sqlx::query_as("SELECT pg_backend_pid(), CAST(current_database() AS TEXT)")
            .fetch_one(pool)
            .await
            .unwrap();
    // Every connection of the pool, not only the one just used.
    let admin = sqlx::PgPool::connect(&common::postgres_admin_url())
        .await
        .unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
    )
    .bind(&name)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(!ended.is_empty() && ended.iter().all(|e| *e));
    admin.close().await;
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let other: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await
        .expect("a fresh connection");
    assert_ne!(other, pid);
    tdb.cleanup().await;
}

/// The regional roll-up counts a contract's late actions in the database
/// (`storage::region::LATE`); it agrees with `plan::is_late_on`, which the
/// plan pages use, on statuses, ends and steps of every kind.
async fn region_tally_counts_late_actions_as_the_plan_does(backend: Backend) {
    use maillage::storage::actions::StepRow;
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    let ids: Vec<i64> = match db {
        Db::Sqlite(pool) => sqlx::query_scalar("SELECT id FROM actions ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar("SELECT id FROM actions ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap(),
    };
    assert!(ids.len() >= 5, "the demo's fiches");
    // (status, end, steps as (due, done)) for the first five actions.
    type Steps<'a> = &'a [(Option<&'a str>, bool)];
    let cases: [(&str, Option<&str>, Steps); 5] = [
        ("in_progress", Some("2020-01-01"), &[]),
        ("done", Some("2020-01-01"), &[(Some("2020-01-01"), false)]),
        (
            "planned",
            None,
            &[(Some("2020-01-01"), false), (None, false)],
        ),
        ("abandoned", None, &[(Some("2020-01-01"), false)]),
        (
            "paused",
            Some("2999-01-01"),
            &[
                (Some("2020-01-01"), true),
                (None, false),
                (Some("2999-12-31"), false),
            ],
        ),
    ];
    for (id, (status, end, steps)) in ids.iter().zip(cases) {
        maillage::db_run!(db, pool => {
            sqlx::query("DELETE FROM action_steps WHERE action_id = $1")
                .bind(id).execute(pool).await.unwrap();
            sqlx::query("UPDATE actions SET status = $1, period_end = $2 WHERE id = $3")
                .bind(status).bind(end).bind(id).execute(pool).await.unwrap();
            for (n, (due, done)) in steps.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO action_steps (action_id, position, due_on, label, done) \
                     VALUES ($1, $2, $3, 'Étape', $4)",
                )
                .bind(id).bind(n as i64).bind(due).bind(done).execute(pool).await.unwrap();
            }
        });
    }
    let today = chrono::Utc::now().date_naive();
    let (from, to) = maillage::region::year_bounds(today);
    let stored = maillage::storage::region::stored(db, from, to, today)
        .await
        .unwrap();
    type ActionRow = (i64, i64, String, Option<String>);
    let (actions, steps): (Vec<ActionRow>, Vec<StepRow>) = maillage::db_run!(db, pool => (
        sqlx::query_as("SELECT id, contract_id, status, period_end FROM actions")
            .fetch_all(pool).await.unwrap(),
        sqlx::query_as("SELECT id, action_id, position, due_on, label, done FROM action_steps")
            .fetch_all(pool).await.unwrap(),
    ));
    let mut expected: std::collections::BTreeMap<(i64, String), (i64, i64)> = Default::default();
    for (id, contract, status, end) in &actions {
        let mine: Vec<StepRow> = steps
            .iter()
            .filter(|s| s.action_id == *id)
            .cloned()
            .collect();
        let late = maillage::plan::is_late_on(status, end.as_deref(), &mine, today);
        let e = expected.entry((*contract, status.clone())).or_default();
        e.0 += 1;
        e.1 += i64::from(late);
    }
    let got: std::collections::BTreeMap<(i64, String), (i64, i64)> = stored
        .actions
        .iter()
        .map(|a| ((a.contract_id, a.status.clone()), (a.count, a.late)))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        got.values().map(|v| v.1).sum::<i64>(),
        2,
        "the one past its end and the one with an overdue step"
    );
    tdb.cleanup().await;
}
both!(region_tally_counts_late_actions_as_the_plan_does);
