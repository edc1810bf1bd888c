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
    assert!(maillage(&url, &["migrate"]).status.success());
    let ok = maillage(&url, &["import", "communes", "data/demo/communes.json"]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(
        text(&ok).contains("92 entrées, 92 ajoutées, 0 modifiées"),
        "{}",
        text(&ok)
    );
    // An identical file changes nothing, and says so.
    let again = maillage(&url, &["import", "communes", "data/demo/communes.json"]);
    assert!(
        text(&again).contains("92 entrées, 0 ajoutées, 0 modifiées"),
        "{}",
        text(&again)
    );

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

    // Every importer reports in the same words; RPPS files carry no date,
    // and the summary shows no empty parentheses for it.
    for (kind, file) in [
        ("finess", "data/demo/finess.csv"),
        ("rpps", "data/demo/rpps.txt"),
    ] {
        for round in 0..2 {
            let out = maillage(&url, &["import", kind, file]);
            let t = text(&out);
            assert!(out.status.success(), "{t}");
            assert!(!t.contains("()"), "{t}");
            assert!(
                t.contains(" entrées, ")
                    && t.contains(" ajoutées, ")
                    && t.contains(" lignes ignorées"),
                "{t}"
            );
            // The diagnosis follows a changed directory, not the same
            // file again.
            if round == 1 {
                assert!(t.contains(" 0 ajoutées, 0 modifiées"), "{t}");
                assert!(
                    t.contains("Annuaire inchangé : l'accessibilité n'est pas recalculée.")
                        && !t.contains("Accessibilité recalculée"),
                    "{t}"
                );
            } else {
                assert!(t.contains("Accessibilité recalculée"), "{t}");
            }
        }
    }
}

/// A national communes file (37,006 entries) loads at once, and with
/// stderr not a terminal the progress is one summary line at most, never a
/// line per update.
#[test]
fn a_national_communes_file_loads_quietly_when_not_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    assert!(maillage(&url, &["migrate"]).status.success());
    let file = dir.path().join("communes.json");
    std::fs::write(
        &file,
        maillage::import::synthetic::communes_json(maillage::import::synthetic::NATIONAL_COMMUNES),
    )
    .unwrap();
    let out = maillage(&url, &["import", "communes", file.to_str().unwrap()]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("37006 entrées, 37006 ajoutées"), "{t}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains('\r'),
        "no line redrawn in place: {stderr:?}"
    );
    assert!(
        stderr
            .lines()
            .filter(|l| l.contains("lecture du fichier"))
            .count()
            <= 1,
        "{stderr}"
    );
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
        .arg("SELECT slug FROM territories WHERE kind <> 'region'")
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

/// `--help` of every command is in French and describes every argument.
#[test]
fn help_is_in_french() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    for cmd in [
        &[][..],
        &["serve"],
        &["migrate"],
        &["demo"],
        &["user"],
        &["user", "create"],
        &["user", "reset"],
        &["import"],
        &["backup"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = maillage(&url, &args);
        let t = text(&out);
        assert!(out.status.success(), "{args:?}: {t}");
        assert!(t.contains("Utilisation : maillage"), "{args:?}: {t}");
        assert!(t.contains("Afficher l'aide"), "{args:?}: {t}");
        for english in [
            "Usage",
            "default:",
            "[env:",
            "possible values",
            "Possible values",
            "Print",
            "Commands",
            "COMMAND>",
        ] {
            assert!(!t.contains(english), "{args:?} says « {english} »: {t}");
        }
    }
    let serve = text(&maillage(&url, &["serve", "--help"]));
    for item in [
        "--addr <ADRESSE>",
        "--public-cache-ms",
        "MAILLAGE_PUBLIC_CACHE_MS",
        "--upload-dir",
        "MAILLAGE_UPLOAD_DIR",
        "--document-dir",
        "MAILLAGE_DOCUMENT_DIR",
        "[par défaut : 127.0.0.1:8080]",
    ] {
        assert!(serve.contains(item), "{item}: {serve}");
    }
    let create = text(&maillage(&url, &["user", "create", "--help"]));
    assert!(create.contains("coordinator, partner, member"), "{create}");
    assert!(create.contains("none, regional, admin"), "{create}");
    assert!(
        create.contains("Adresse électronique du compte"),
        "{create}"
    );
    let backup = text(&maillage(&url, &["backup", "--help"]));
    assert!(backup.contains("backups/maillage-"), "{backup}");
}

/// Only `serve`, `migrate` and `demo` create a missing SQLite file; the
/// others refuse it and leave nothing behind. `migrate` says what it did.
#[test]
fn a_missing_database_is_created_only_on_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absente.db");
    let url = format!("sqlite://{}", path.display());
    for args in [
        &["backup", "--output", "copie.db"][..],
        &["import", "communes", "data/demo/communes.json"],
        &["user", "create", "a@exemple.fr"],
        &["user", "reset", "a@exemple.fr"],
    ] {
        let out = maillage(&url, args);
        let t = text(&out);
        assert!(!out.status.success(), "{args:?}: {t}");
        assert!(
            t.contains(&format!(
                "base introuvable : {} (lancez d'abord `maillage migrate`)",
                path.display()
            )),
            "{args:?}: {t}"
        );
        assert!(!path.exists(), "{args:?} created the file");
    }
    let out = maillage(&url, &["migrate"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("Migrations appliquées") && t.contains("1 foundation"),
        "{t}"
    );
    assert!(path.exists());
    let t = text(&maillage(&url, &["migrate"]));
    assert!(t.contains("déjà à jour"), "{t}");
    assert!(!t.contains("Migrations appliquées"), "{t}");
}

/// A role that does not exist, or a role without its territory, is refused
/// before any account is created; a bad e-mail is reported once.
#[test]
fn user_create_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    assert!(maillage(&url, &["demo"]).status.success());
    let out = maillage(
        &url,
        &[
            "user",
            "create",
            "a@exemple.fr",
            "--territory",
            "lens-lievin",
            "--role",
            "boss",
        ],
    );
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("« boss »") && t.contains("coordinator, partner, member"),
        "{t}"
    );
    assert!(!t.contains("Compte créé"), "{t}");
    let out = maillage(
        &url,
        &["user", "create", "a@exemple.fr", "--role", "partner"],
    );
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("--territory"), "{t}");
    assert!(!t.contains("Compte créé"), "{t}");
    let out = maillage(
        &url,
        &["user", "create", "a@exemple.fr", "--instance-role", "chef"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("none, regional, admin"),
        "{}",
        text(&out)
    );
    // None of these created the account.
    let out = maillage(&url, &["user", "reset", "a@exemple.fr"]);
    assert!(text(&out).contains("aucun compte"), "{}", text(&out));

    let out = maillage(&url, &["user", "create", "pas-une-adresse"]);
    let t = text(&out);
    assert!(!out.status.success());
    assert_eq!(t.matches("pas-une-adresse").count(), 1, "{t}");

    let out = maillage(
        &url,
        &[
            "user",
            "create",
            "b@exemple.fr",
            "--territory",
            "lens-lievin",
            "--role",
            "member",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("Rôle : Membre"), "{t}");
}

/// The reset link starts with the site's public address, from
/// `--public-url` or `MAILLAGE_PUBLIC_URL`.
#[test]
fn reset_links_use_the_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    assert!(maillage(&url, &["demo"]).status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .args(["user", "reset", "admin@maillage.test"])
        .env("MAILLAGE_DATABASE_URL", &url)
        .env("MAILLAGE_PUBLIC_URL", "https://cls.exemple.fr/")
        .output()
        .unwrap();
    let t = text(&out);
    assert!(
        t.contains("\nhttps://cls.exemple.fr/admin/reinitialisation/"),
        "{t}"
    );
    assert!(t.contains("MAILLAGE_PUBLIC_URL"), "{t}");
    let t = text(&maillage(
        &url,
        &[
            "user",
            "reset",
            "admin@maillage.test",
            "--public-url",
            "https://autre.exemple.fr",
        ],
    ));
    assert!(
        t.contains("\nhttps://autre.exemple.fr/admin/reinitialisation/"),
        "{t}"
    );
}

/// A PostgreSQL port where nothing listens is reported at once, by name.
#[test]
fn a_refused_postgres_connection_fails_fast() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let out = maillage(
        &format!("postgres://postgres@127.0.0.1:{port}/maillage"),
        &["migrate"],
    );
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains(&format!("connexion refusée : 127.0.0.1:{port}")),
        "{t}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Start `serve`, wait for its « écoute sur » line; returns the child and
/// everything it printed until then.
fn serve(url: &str, args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .arg("serve")
        .args(args)
        .env("MAILLAGE_DATABASE_URL", url)
        .env("MAILLAGE_LOG", "maillage=info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx2.send(l);
        }
    });
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while let Ok(line) =
        rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
    {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("écoute sur") {
            // The configuration log line comes just before; give stderr a moment.
            std::thread::sleep(std::time::Duration::from_millis(200));
            while let Ok(l) = rx.try_recv() {
                seen.push_str(&l);
                seen.push('\n');
            }
            break;
        }
    }
    (child, seen)
}

/// A second `serve --demo` names the demo accounts and how to get a
/// password; logs carry no colour codes when not on a terminal; a busy port
/// is named; a host name is accepted for `--addr`.
#[test]
fn serve_reports_what_a_newcomer_needs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    assert!(maillage(&url, &["demo"]).status.success());
    let (mut child, seen) = serve(&url, &["--demo", "--addr", "localhost:0"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("écoute sur http://"), "{seen}");
    assert!(seen.contains("existe déjà"), "{seen}");
    for email in [
        "coordination@lens-lievin.maillage.test",
        "mediation@lens-lievin.maillage.test",
        "ars@maillage.test",
        "admin@maillage.test",
    ] {
        assert!(seen.contains(email), "{email}: {seen}");
    }
    assert!(seen.contains("maillage user reset EMAIL"), "{seen}");
    assert!(seen.contains("configuration"), "an info log line: {seen}");
    assert!(!seen.contains('\u{1b}'), "colour codes in a pipe: {seen:?}");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let fresh = dir.path().join("neuve.db");
    let out = maillage(
        &format!("sqlite://{}", fresh.display()),
        &["serve", "--addr", &addr],
    );
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains(&format!("adresse déjà utilisée : {addr}")),
        "{t}"
    );
    assert!(!fresh.exists(), "the port is checked before the database");
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
    // The configuration is a log line: on stderr.
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    seen.push_str(&log);
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

#[test]
fn reference_imports_and_territory_create() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    assert!(maillage(&url, &["migrate"]).status.success());
    for (kind, file) in [
        ("communes", "data/demo/communes.json"),
        ("epci", "data/demo/epci.json"),
    ] {
        let out = maillage(&url, &["import", kind, file]);
        assert!(out.status.success(), "{}", text(&out));
    }

    // The outlines reach beyond the loaded communes: refused, with the
    // feature's number, until the neighbouring communes are loaded.
    let out = maillage(&url, &["import", "geo", "data/demo/contours.geojson"]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("rien n'a été importé") && t.contains("entité 1 : commune inconnue 59"),
        "{t}"
    );
    let out = maillage(
        &url,
        &["import", "communes", "data/demo/communes-voisines.json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = maillage(&url, &["import", "geo", "data/demo/contours.geojson"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("652 entrées, 652 ajoutées, 0 modifiées, 0 supprimées"),
        "{t}"
    );

    let pop = dir.path().join("pop.csv");
    std::fs::write(
        &pop,
        "CODGEO;P21_POP;P21_POP0014;P21_POP1529;P21_POP3044;P21_POP4559;P21_POP6074;P21_POP75P\n62498;32920;6500;7000;6000;5800;4700;2920\n",
    )
    .unwrap();
    let out = maillage(&url, &["import", "population", pop.to_str().unwrap()]);
    assert!(
        text(&out).contains("1 entrées, 1 ajoutées"),
        "{}",
        text(&out)
    );
    let tt = dir.path().join("tt.csv");
    std::fs::write(&tt, "origin;destination;minutes\n62498;62510;-4\n").unwrap();
    let out = maillage(&url, &["import", "travel-times", tt.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("ligne 2 : durée négative"),
        "{}",
        text(&out)
    );
    std::fs::write(&tt, "origin;destination;minutes\n62498;62510;12\n").unwrap();
    let out = maillage(&url, &["import", "travel-times", tt.to_str().unwrap()]);
    assert!(
        text(&out).contains("1 entrées, 1 ajoutées"),
        "{}",
        text(&out)
    );

    // A territory from the command line, as from the admin page.
    let out = maillage(
        &url,
        &[
            "territory",
            "create",
            "lens-lievin",
            "--name",
            "CA de Lens - Liévin",
            "--epci",
            "246200364",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("36 commune(s)"), "{t}");
    let out = maillage(
        &url,
        &[
            "territory",
            "create",
            "lens-lievin",
            "--name",
            "Lens",
            "--communes",
            "62498",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("« lens-lievin » est déjà pris"),
        "{}",
        text(&out)
    );
    let out = maillage(
        &url,
        &[
            "territory",
            "create",
            "autre",
            "--name",
            "Autre",
            "--epci",
            "200000000",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("Aucun EPCI n'a le numéro SIREN 200000000"),
        "{}",
        text(&out)
    );
    let out = maillage(
        &url,
        &[
            "territory",
            "create",
            "autre",
            "--name",
            "Autre",
            "--communes",
            "62498,62999",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("Codes absents de la liste officielle des communes : 62999."),
        "{}",
        text(&out)
    );
    let out = maillage(&url, &["territory", "create", "autre", "--name", "Autre"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("argument manquant"), "{}", text(&out));
    let out = maillage(
        &url,
        &[
            "territory",
            "create",
            "deux",
            "--name",
            "Deux communes",
            "--communes",
            "62498 62510",
        ],
    );
    assert!(text(&out).contains("2 commune(s)"), "{}", text(&out));
}

/// Newer RPPS extractions publish the savoir-faire in their own file:
/// `--savoir-faire` completes the specialties the activity file lacks; a
/// file that is not one refuses the import before anything is written.
#[test]
fn rpps_specialties_from_a_savoir_faire_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let url = format!("sqlite://{}", db.display());
    assert!(maillage(&url, &["migrate"]).status.success());
    let activity = dir.path().join("PS_LibreAcces_Personne_activite.txt");
    std::fs::write(
        &activity,
        "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code mode exercice|Code postal (coord. structure)|Code commune (coord. structure)|Libellé commune (coord. structure)|Code secteur d'activité|\n\
         8|0000000001|80000000001|DUPONT|Marie|10|Médecin|L|62300|62498|LENS|SA07|\n\
         8|0000000002|80000000002|MARTIN|Paul|60|Infirmier|L|62300|62498|LENS|SA07|\n",
    )
    .unwrap();
    let sf = dir.path().join("PS_LibreAcces_SavoirFaire.txt");
    std::fs::write(
        &sf,
        "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire|\n\
         8|0000000001|80000000001|DUPONT|Marie|10|Médecin|C|Civil|S|Spécialité ordinale|SM54|Médecine générale|\n",
    )
    .unwrap();
    let specialty = || {
        let out = Command::new("sqlite3")
            .arg(&db)
            .arg("SELECT rpps || ':' || specialty_code FROM practice_places ORDER BY rpps")
            .output()
            .expect("sqlite3 (see scripts/test.sh)");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };

    // Not a savoir-faire file: refused, nothing written.
    let out = maillage(
        &url,
        &[
            "import",
            "rpps",
            activity.to_str().unwrap(),
            "--savoir-faire",
            activity.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("Savoir-faire"), "{}", text(&out));
    assert_eq!(specialty(), "");

    let out = maillage(
        &url,
        &[
            "import",
            "rpps",
            activity.to_str().unwrap(),
            "--savoir-faire",
            sf.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(specialty(), "80000000001:SM54\n80000000002:");

    // Only for RPPS.
    let out = maillage(
        &url,
        &[
            "import",
            "finess",
            "data/demo/finess.csv",
            "--savoir-faire",
            sf.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("qu'avec l'import rpps"),
        "{}",
        text(&out)
    );
}

/// `maillage import finess-plus FILE`: the gzip JSON of FiNESS+ is read as
/// a stream; a refused file says which record (or which line of the JSON)
/// and why, and leaves the directory as it was.
#[test]
fn finess_plus_import_from_the_command_line() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    assert!(maillage(&url, &["migrate"]).status.success());
    let gz = |text: &str| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let ege = |finess: &str| {
        format!(
            r#"{{"informationsGeneralesEGE": {{"numFinessEge": "{finess}", "nomEgeCourt": "PHARMACIE {finess}", "nomEgeLong": "PHARMACIE {finess}"}},
              "categorieentiteGeographiqueExercice": "620", "etatObjet": "A",
              "adresse": [{{"usageAdresse": "03", "cogCommune": "62498", "codePostal": "62300", "ligneAcheminement": "LENS",
                "coordonneesGeographique": {{"coordonneeX": "7034000", "coordonneeY": "686000"}}}}]}}"#
        )
    };
    let doc = |eges: &[String]| {
        format!(
            "{{\"schemaVersion\": \"v1.0.0\", \"generatedAt\": \"2026-06-01T04:00:00Z\",\n\"pmej\": [{{\"ege\": [\n{}\n]}}]}}\n",
            eges.join(",\n")
        )
    };
    let good = dir.path().join("finess-structures.json.gz");
    std::fs::write(&good, gz(&doc(&[ege("620000011"), ege("620000029")]))).unwrap();
    let out = maillage(&url, &["import", "finess-plus", good.to_str().unwrap()]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("(fichier du 2026-06-01) : 2 entrées, 2 ajoutées, 0 modifiées, 0 supprimées, 0 lignes ignorées"),
        "{t}"
    );
    assert!(t.contains("coordonnées calculées depuis X/Y"), "{t}");

    // One bad record in two: refused, naming the record and the reason.
    let bad = dir.path().join("bad.json.gz");
    std::fs::write(&bad, gz(&doc(&[ege("620000011"), ege("62-0011")]))).unwrap();
    let out = maillage(&url, &["import", "finess-plus", bad.to_str().unwrap()]);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("rien n'a été importé")
            && t.contains(
                "enregistrement 2 (entité juridique 1) : numéro FINESS « 62-0011 » invalide"
            ),
        "{t}"
    );

    // Broken JSON: the line of the decompressed text.
    let broken = dir.path().join("broken.json.gz");
    std::fs::write(&broken, gz(&doc(&[ege("620000011"), "{,}".into()]))).unwrap();
    let out = maillage(&url, &["import", "finess-plus", broken.to_str().unwrap()]);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("ligne 7 : le contenu décompressé n'est pas du JSON valide"),
        "{t}"
    );

    // Not gzip: the etalab CSV given to the wrong importer.
    let out = maillage(&url, &["import", "finess-plus", "data/demo/finess.csv"]);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("pas compressé en gzip") && t.contains("import « finess »"),
        "{t}"
    );

    // Nothing of the refused files was written.
    let again = maillage(&url, &["import", "finess-plus", good.to_str().unwrap()]);
    assert!(
        text(&again).contains("2 entrées, 0 ajoutées, 0 modifiées, 0 supprimées"),
        "{}",
        text(&again)
    );
}
