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

/// `--config FILE`: the file sets addr, public URL and retention (and the
/// database); the environment wins over it; an unknown key is refused with
/// its name and the file's.
#[test]
fn config_file_then_environment_then_flags() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let db = dir.path().join("depuis-fichier.db");
    let file = dir.path().join("maillage.toml");
    std::fs::write(
        &file,
        format!(
            "# Réglages de test\ndatabase-url = \"sqlite://{}\"\naddr = \"127.0.0.1:{port}\"\n\
             public-url = \"https://fichier.exemple\"\nregistration-retention-days = 45\n\
             public-cache-ms = 0\n",
            db.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .args(["--config", file.to_str().unwrap(), "serve"])
        .env_remove("MAILLAGE_DATABASE_URL")
        .env_remove("MAILLAGE_ADDR")
        .env_remove("MAILLAGE_REGISTRATION_RETENTION_DAYS")
        .env("MAILLAGE_PUBLIC_URL", "https://environnement.exemple")
        .env("MAILLAGE_LOG", "maillage=info")
        .env("NO_COLOR", "1")
        .env("MAILLAGE_UPLOAD_DIR", dir.path().join("uploads"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve");
    let mut seen = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("écoute sur") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.contains(&format!("écoute sur http://127.0.0.1:{port}")),
        "{seen}"
    );
    assert!(seen.contains("https://environnement.exemple"), "{seen}");
    assert!(!seen.contains("fichier.exemple"), "{seen}");
    assert!(seen.contains("registration_retention_days: 45"), "{seen}");
    assert!(db.exists(), "database-url from the file");
    // Other commands take the database and the public URL from the file too.
    let with_file = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_maillage"))
            .args(["--config", file.to_str().unwrap()])
            .args(args)
            .env_remove("MAILLAGE_DATABASE_URL")
            .env_remove("MAILLAGE_PUBLIC_URL")
            .output()
            .unwrap()
    };
    let out = with_file(&["user", "create", "fichier@exemple.fr"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = with_file(&["user", "reset", "fichier@exemple.fr"]);
    assert!(
        text(&out).contains("https://fichier.exemple/admin/reinitialisation/"),
        "{}",
        text(&out)
    );

    // A flag wins over the file.
    let flag_db = dir.path().join("depuis-option.db");
    let out = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .args([
            "--config",
            file.to_str().unwrap(),
            "migrate",
            "--database-url",
            &format!("sqlite://{}", flag_db.display()),
        ])
        .env_remove("MAILLAGE_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(flag_db.exists());

    let bad = dir.path().join("faute.toml");
    std::fs::write(&bad, "addr = \"127.0.0.1:8080\"\nretention-days = 30\n").unwrap();
    let out = maillage(
        "sqlite://inutile.db",
        &["--config", bad.to_str().unwrap(), "migrate"],
    );
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("retention-days") && t.contains(bad.to_str().unwrap()) && t.contains("ligne 2"),
        "{t}"
    );
    assert!(!std::path::Path::new("inutile.db").exists());
}
