//! The `maillage` binary as an operator uses it.

use std::process::Command;

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

#[test]
fn imports_report_lines_and_keep_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let ok = maillage(&url, &["import", "communes", "data/demo/communes.json"]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("92 ajoutés, 0 mis à jour"));

    let bad = dir.path().join("communes.json");
    std::fs::write(&bad, "[\n{\"code\":\"62498\",\"nom\":\"Lens\"},\n{\"code\":\"XYZ\",\"nom\":\"?\"},\n{\"code\":\"62510\"").unwrap();
    let out = maillage(&url, &["import", "communes", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("ligne 4"), "{}", text(&out));

    let qpv = dir.path().join("qpv.csv");
    std::fs::write(
        &qpv,
        "code_qp;lib_qp;insee_com\nQN06201M;Cité;62498\nQN0620;Mauvais;62498\n",
    )
    .unwrap();
    let out = maillage(&url, &["import", "qpv", qpv.to_str().unwrap()]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("ligne 3") && t.contains("QN0620"), "{t}");
    assert!(t.contains("rien n'a été importé"));

    let epci = maillage(&url, &["import", "epci", "data/demo/epci.json"]);
    assert!(epci.status.success(), "{}", text(&epci));
}

#[test]
fn demo_users_reset_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let out = maillage(&url, &["demo"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("coordination@lens-lievin.maillage.test"));
    assert!(text(&maillage(&url, &["demo"])).contains("existe déjà"));

    let out = maillage(
        &url,
        &[
            "user",
            "create",
            "nouvelle@exemple.fr",
            "--territory",
            "lens-lievin",
            "--role",
            "partner",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Mot de passe : "));
    let out = maillage(&url, &["user", "create", "nouvelle@exemple.fr"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("existe déjà"));
    let out = maillage(&url, &["user", "reset", "nouvelle@exemple.fr"]);
    assert!(out.status.success());
    assert!(text(&out).contains("/admin/reinitialisation/"));
    let out = maillage(&url, &["user", "reset", "personne@exemple.fr"]);
    assert!(!out.status.success());

    // The copy is a complete, readable SQLite database.
    let copy = dir.path().join("copie.db");
    let out = maillage(&url, &["backup", "--output", copy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let q = Command::new("sqlite3")
        .arg(&copy)
        .arg("SELECT slug FROM territories")
        .output()
        .expect("sqlite3");
    assert_eq!(String::from_utf8_lossy(&q.stdout).trim(), "lens-lievin");
    let again = maillage(&url, &["backup", "--output", copy.to_str().unwrap()]);
    assert!(!again.status.success(), "never overwrites a backup");
}

#[test]
fn postgres_backup_uses_pg_dump() {
    let admin = std::env::var("MAILLAGE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("maillage_t_cli{}", std::process::id());
    let psql = |sql: &str| {
        Command::new("psql")
            .arg(&admin)
            .arg("-qc")
            .arg(sql)
            .output()
            .expect("psql")
    };
    psql(&format!("DROP DATABASE IF EXISTS {name}"));
    assert!(psql(&format!("CREATE DATABASE {name}")).status.success());
    let base = admin.rsplit_once('/').unwrap().0;
    let url = format!("{base}/{name}");
    let out = maillage(&url, &["demo"]);
    assert!(out.status.success(), "{}", text(&out));
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("m.dump");
    let out = maillage(&url, &["backup", "--output", dump.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let list = Command::new("pg_restore")
        .arg("--list")
        .arg(&dump)
        .output()
        .expect("pg_restore");
    assert!(String::from_utf8_lossy(&list.stdout).contains("territories"));
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
