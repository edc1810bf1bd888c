//! Backup drill with the real binary: fill a database with the demo, back
//! it up, restore it into a fresh database, and compare every table row by
//! row; on SQLite and PostgreSQL.

use std::process::Command;

use maillage::storage::Db;

fn maillage(db_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_maillage"))
        .args(args)
        .env("MAILLAGE_DATABASE_URL", db_url)
        .env("MAILLAGE_LOG", "error")
        .output()
        .expect("run maillage")
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: std::process::Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

/// Every table with its rows, each row as text, in a stable order.
async fn contents(url: &str) -> Vec<(String, Vec<String>)> {
    let db = Db::connect(url).await.expect("connect");
    let mut out = Vec::new();
    match &db {
        Db::Sqlite(pool) => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_stat%' ORDER BY name",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            for t in tables {
                let cols: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                        .bind(&t)
                        .fetch_all(pool)
                        .await
                        .unwrap();
                let row = cols
                    .iter()
                    .map(|c| format!("quote(\"{c}\")"))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                let rows: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT {row} AS r FROM \"{t}\" ORDER BY r"))
                        .fetch_all(pool)
                        .await
                        .unwrap();
                out.push((t, rows));
            }
        }
        Db::Postgres(pool) => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            for t in tables {
                let rows: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT r::text FROM \"{t}\" r ORDER BY 1"))
                        .fetch_all(pool)
                        .await
                        .unwrap();
                out.push((t, rows));
            }
        }
    }
    db.close().await;
    out
}

fn assert_same(a: &[(String, Vec<String>)], b: &[(String, Vec<String>)]) {
    let names = |x: &[(String, Vec<String>)]| x.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "same tables");
    for ((table, ra), (_, rb)) in a.iter().zip(b) {
        assert_eq!(ra.len(), rb.len(), "{table}: row count");
        for (i, (x, y)) in ra.iter().zip(rb).enumerate() {
            assert_eq!(x, y, "{table}: row {i}");
        }
    }
    let filled = a.iter().filter(|(_, r)| !r.is_empty()).count();
    assert!(
        filled >= 15,
        "the demo fills the database ({filled} tables with rows)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_restores_row_for_row() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}", dir.path().join("source.db").display());
    ok(maillage(&source, &["demo"]));
    let copy = dir.path().join("copie.db");
    ok(maillage(
        &source,
        &["backup", "--output", copy.to_str().unwrap()],
    ));

    let target_file = dir.path().join("restauree").join("maillage.db");
    let target = format!("sqlite://{}", target_file.display());
    let out = ok(maillage(&target, &["restore", copy.to_str().unwrap()]));
    assert!(out.contains("restaurée"), "{out}");
    assert_same(&contents(&source).await, &contents(&target).await);

    // A database in use is never overwritten by mistake…
    let again = maillage(&target, &["restore", copy.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(text(&again).contains("--force"), "{}", text(&again));
    // …nor replaced by something that is not a Maillage backup.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, "pas une base").unwrap();
    let bad = maillage(&target, &["restore", "--force", junk.to_str().unwrap()]);
    assert!(!bad.status.success());
    // With --force, after changes, it comes back as it was.
    ok(maillage(
        &target,
        &["user", "create", "nouvelle@exemple.fr"],
    ));
    ok(maillage(
        &target,
        &["restore", "--force", copy.to_str().unwrap()],
    ));
    assert_same(&contents(&source).await, &contents(&target).await);
    // And it is a working database: new rows get new ids.
    ok(maillage(
        &target,
        &["user", "create", "nouvelle@exemple.fr"],
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_restores_row_for_row() {
    let admin = std::env::var("MAILLAGE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let base = admin.rsplit_once('/').unwrap().0.to_owned();
    let pid = std::process::id();
    let (from, to) = (
        format!("maillage_t_drill_a{pid}"),
        format!("maillage_t_drill_b{pid}"),
    );
    let psql = |sql: &str| {
        Command::new("psql")
            .arg(&admin)
            .arg("-qc")
            .arg(sql)
            .output()
            .expect("psql")
    };
    for name in [&from, &to] {
        psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        assert!(psql(&format!("CREATE DATABASE {name}")).status.success());
    }
    let (source, target) = (format!("{base}/{from}"), format!("{base}/{to}"));
    ok(maillage(&source, &["demo"]));
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("m.dump");
    ok(maillage(
        &source,
        &["backup", "--output", dump.to_str().unwrap()],
    ));
    let out = ok(maillage(&target, &["restore", dump.to_str().unwrap()]));
    assert!(out.contains("restaurée"), "{out}");
    assert_same(&contents(&source).await, &contents(&target).await);

    let again = maillage(&target, &["restore", dump.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(text(&again).contains("--force"), "{}", text(&again));
    ok(maillage(
        &target,
        &["user", "create", "nouvelle@exemple.fr"],
    ));
    ok(maillage(
        &target,
        &["restore", "--force", dump.to_str().unwrap()],
    ));
    assert_same(&contents(&source).await, &contents(&target).await);
    // Sequences came back too: new rows get new ids.
    ok(maillage(
        &target,
        &["user", "create", "nouvelle@exemple.fr"],
    ));

    for name in [&from, &to] {
        psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}
