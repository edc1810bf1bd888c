//! The `maillage` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::accounts;
use crate::config::{redact_url, Config};
use crate::domain::roles::{InstanceRole, Role};
use crate::import::{geography, ImportError};
use crate::storage::audit::Actor;
use crate::storage::{territories, users, Db};

#[derive(Parser)]
#[command(
    name = "maillage",
    version,
    about = "Contrats locaux de santé : site public, back office, données ouvertes"
)]
struct Cli {
    /// sqlite://fichier.db (créé au besoin) ou postgres://…
    #[arg(
        long,
        env = "MAILLAGE_DATABASE_URL",
        default_value = "sqlite://maillage.db",
        global = true
    )]
    database_url: String,
    /// TOML settings file (keys: the long flag names); flags and environment win over it.
    #[arg(long, env = "MAILLAGE_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
    /// `public-url` of the `--config` file, for the links other commands print.
    #[arg(skip)]
    file_public_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the web server (migrates the database first).
    Serve {
        #[arg(long, env = "MAILLAGE_ADDR", default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Address people use to reach the site (for links); defaults to http://ADDR.
        #[arg(long, env = "MAILLAGE_PUBLIC_URL")]
        public_url: Option<String>,
        /// Load the demo territory when it is missing, and print its accounts.
        #[arg(long)]
        demo: bool,
        /// Trust X-Forwarded-For from a reverse proxy.
        #[arg(long, env = "MAILLAGE_TRUST_PROXY")]
        trust_proxy: bool,
        /// Milliseconds an anonymous public page may be served from this
        /// process's memory (0 disables).
        #[arg(long, env = "MAILLAGE_PUBLIC_CACHE_MS", default_value_t = 2000)]
        public_cache_ms: u64,
        /// Where uploaded import files wait for their job.
        #[arg(long, env = "MAILLAGE_UPLOAD_DIR", default_value = "uploads")]
        upload_dir: std::path::PathBuf,
        /// Keep attached documents in this directory instead of the database.
        #[arg(long, env = "MAILLAGE_DOCUMENT_DIR")]
        document_dir: Option<std::path::PathBuf>,
        /// SMTP relay for e-mails: smtp://[user:password@]host[:port].
        #[arg(long, env = "MAILLAGE_SMTP_URL")]
        smtp_url: Option<String>,
        /// Sender of the e-mails.
        #[arg(
            long,
            env = "MAILLAGE_MAIL_FROM",
            default_value = "Maillage <ne-pas-repondre@maillage.invalid>"
        )]
        mail_from: String,
        /// Days registrations are kept after their session.
        #[arg(
            long,
            env = "MAILLAGE_REGISTRATION_RETENTION_DAYS",
            default_value_t = 90
        )]
        registration_retention_days: i64,
        /// Serve GET /metrics (Prometheus), to loopback callers or with the token.
        #[arg(long, env = "MAILLAGE_METRICS")]
        metrics: bool,
        /// Bearer token required to read /metrics (prefer the environment variable).
        #[arg(long, env = "MAILLAGE_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
    },
    /// Apply pending migrations.
    Migrate,
    /// Load the demo territory and print its accounts.
    Demo,
    /// Accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Load official open-data files.
    Import {
        kind: ImportKind,
        file: PathBuf,
        /// FINESS and RPPS: import even a file that removes more than 20 %
        /// of the directory's entries (refused otherwise as incomplete).
        #[arg(long)]
        force: bool,
    },
    /// Write a consistent copy of the database (safe while serving).
    Backup {
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Put a backup back into the (missing or empty) database, then migrate it.
    Restore {
        /// A file written by `maillage backup`.
        file: PathBuf,
        /// Replace a database that is not empty (stop the servers first).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account and print its password.
    Create {
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Instance role: none, regional or admin.
        #[arg(long, default_value = "none")]
        instance_role: String,
        /// Give a role in this territory (slug)…
        #[arg(long)]
        territory: Option<String>,
        /// …this one: coordinator, partner or member.
        #[arg(long, default_value = "coordinator")]
        role: String,
    },
    /// Print a one-time link to choose a new password (valid 24 hours).
    Reset { email: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportKind {
    /// communes.json of @etalab/decoupage-administratif
    Communes,
    /// epci.json of @etalab/decoupage-administratif
    Epci,
    /// ANCT list of QPV (listeqp2024-cog2024.csv)
    Qpv,
    /// FINESS « etalab » extraction of establishments (Windows-1252 or UTF-8)
    Finess,
    /// RPPS « PS_LibreAcces_Personne_activite » extraction of professionals
    Rpps,
}

pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MAILLAGE_LOG")
                .unwrap_or_else(|_| "maillage=info,tower_http=warn".into()),
        )
        .init();
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Err(e) = apply_config_file(&mut cli, &matches) {
        eprintln!("erreur : {e:#}");
        return ExitCode::FAILURE;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("erreur : {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("erreur : {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Was this setting given on the command line or in the environment?
fn given(matches: &ArgMatches, id: &str) -> bool {
    matches!(
        matches.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// Fill the settings that neither a flag nor the environment gave from the
/// `--config` file: flags > environment > file > defaults.
fn apply_config_file(cli: &mut Cli, matches: &ArgMatches) -> anyhow::Result<()> {
    let Some(path) = &cli.config else {
        return Ok(());
    };
    let file = crate::config::FileSettings::load(path)?;
    fn set<T>(slot: &mut T, m: &ArgMatches, id: &str, value: Option<T>) {
        if let Some(v) = value.filter(|_| !given(m, id)) {
            *slot = v;
        }
    }
    cli.file_public_url = file.public_url.clone();
    let sub = matches.subcommand().map(|(_, m)| m).unwrap_or(matches);
    if !given(sub, "database_url") {
        set(
            &mut cli.database_url,
            matches,
            "database_url",
            file.database_url,
        );
    }
    if let Command::Serve {
        addr,
        public_url,
        demo,
        trust_proxy,
        public_cache_ms,
        upload_dir,
        document_dir,
        smtp_url,
        mail_from,
        registration_retention_days,
        metrics,
        metrics_token,
    } = &mut cli.command
    {
        set(demo, sub, "demo", file.demo);
        set(addr, sub, "addr", file.addr);
        set(public_url, sub, "public_url", file.public_url.map(Some));
        set(trust_proxy, sub, "trust_proxy", file.trust_proxy);
        set(
            public_cache_ms,
            sub,
            "public_cache_ms",
            file.public_cache_ms,
        );
        set(upload_dir, sub, "upload_dir", file.upload_dir);
        set(
            document_dir,
            sub,
            "document_dir",
            file.document_dir.map(Some),
        );
        set(smtp_url, sub, "smtp_url", file.smtp_url.map(Some));
        set(mail_from, sub, "mail_from", file.mail_from);
        set(
            registration_retention_days,
            sub,
            "registration_retention_days",
            file.registration_retention_days,
        );
        set(metrics, sub, "metrics", file.metrics);
        set(
            metrics_token,
            sub,
            "metrics_token",
            file.metrics_token.map(Some),
        );
    }
    Ok(())
}

async fn connect(url: &str) -> anyhow::Result<Db> {
    let db = Db::connect(url)
        .await
        .map_err(|e| anyhow::anyhow!("connexion à {} : {e}", redact_url(url)))?;
    db.migrate().await?;
    Ok(db)
}

fn print_accounts(accounts: &[crate::demo::DemoAccount]) {
    println!(
        "Territoire de démonstration chargé. Comptes (mots de passe affichés une seule fois) :"
    );
    for a in accounts {
        println!("  {:<16} {:<45} {}", a.label, a.email, a.password);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.database_url;
    let file_public_url = cli.file_public_url;
    match cli.command {
        Command::Serve {
            addr,
            public_url,
            demo,
            trust_proxy,
            public_cache_ms,
            upload_dir,
            document_dir,
            smtp_url,
            mail_from,
            registration_retention_days,
            metrics,
            metrics_token,
        } => {
            let started = std::time::Instant::now();
            let db = connect(&url).await?;
            if demo {
                if let Some(accounts) = crate::demo::load(&db).await? {
                    print_accounts(&accounts);
                }
            }
            let public_url = public_url.unwrap_or_else(|| format!("http://{addr}"));
            let config = Config {
                database_url: url.clone(),
                addr,
                cookie_secure: public_url.starts_with("https://"),
                public_url: public_url.trim_end_matches('/').to_owned(),
                trust_proxy,
                public_cache_ttl: std::time::Duration::from_millis(public_cache_ms),
                upload_dir,
                document_dir,
                smtp_url,
                mail_from,
                registration_retention_days,
                metrics,
                metrics_token: metrics_token.filter(|t| !t.is_empty()),
                ..Config::default()
            };
            tracing::info!(?config, "configuration");
            let state = crate::web::AppState::new(db.clone(), config).await?;
            let listener = tokio::net::TcpListener::bind(addr).await?;
            println!(
                "Maillage écoute sur http://{} (prêt en {} ms)",
                listener.local_addr()?,
                started.elapsed().as_millis()
            );
            let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
            let worker = tokio::spawn(crate::jobs::worker_loop(db.clone(), jobs_stopped));
            crate::web::serve(listener, state, crate::web::shutdown_signal()).await?;
            let _ = stop_jobs.send(true);
            let _ = worker.await;
            db.close().await;
        }
        Command::Migrate => {
            connect(&url).await?;
            println!("Base de données à jour.");
        }
        Command::Demo => {
            let db = connect(&url).await?;
            match crate::demo::load(&db).await? {
                Some(accounts) => print_accounts(&accounts),
                None => println!("Le territoire de démonstration existe déjà."),
            }
        }
        Command::User { command } => {
            let db = connect(&url).await?;
            let actor = Actor::system("maillage user");
            match command {
                UserCommand::Create {
                    email,
                    name,
                    instance_role,
                    territory,
                    role,
                } => {
                    let ir = InstanceRole::parse(&instance_role).ok_or_else(|| {
                        anyhow::anyhow!(
                            "rôle d'instance inconnu « {instance_role} » (none, regional, admin)"
                        )
                    })?;
                    let target = match &territory {
                        Some(slug) => {
                            let t = territories::get_by_slug(&db, slug)
                                .await?
                                .ok_or_else(|| anyhow::anyhow!("territoire inconnu « {slug} »"))?;
                            let r = Role::parse(&role).ok_or_else(|| {
                                anyhow::anyhow!(
                                    "rôle inconnu « {role} » (coordinator, partner, member)"
                                )
                            })?;
                            Some((t, r))
                        }
                        None => None,
                    };
                    let password = accounts::random_password();
                    let user =
                        accounts::create_user(&db, &actor, &email, &name, &password, ir).await?;
                    if let Some((t, r)) = target {
                        users::set_membership(&db, &actor, t.id, user.id, r).await?;
                    }
                    println!("Compte créé : {}\nMot de passe : {password}", user.email);
                }
                UserCommand::Reset { email } => {
                    let email = email.trim().to_lowercase();
                    let user = users::find_by_email(&db, &email)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("aucun compte pour {email}"))?;
                    let token = accounts::issue_reset(&db, user.id, 1).await?;
                    let base = std::env::var("MAILLAGE_PUBLIC_URL")
                        .ok()
                        .or(file_public_url)
                        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
                    println!(
                        "Lien de réinitialisation pour {} (valable 24 heures, une seule fois) :\n{}/admin/reinitialisation/{token}",
                        user.email,
                        base.trim_end_matches('/')
                    );
                }
            }
        }
        Command::Import { kind, file, force } => {
            let db = connect(&url).await?;
            let bytes =
                std::fs::read(&file).map_err(|e| anyhow::anyhow!("{} : {e}", file.display()))?;
            let result = match kind {
                ImportKind::Finess | ImportKind::Rpps => {
                    return import_directory(&db, kind, &file, &bytes, force).await
                }
                ImportKind::Communes => geography::import_communes(&db, &bytes).await,
                ImportKind::Epci => geography::import_epcis(&db, &bytes).await,
                ImportKind::Qpv => geography::import_qpvs(&db, &bytes).await,
            };
            match result {
                Ok(c) => println!(
                    "{} : {} ajoutés, {} mis à jour.",
                    file.display(),
                    c.added,
                    c.updated
                ),
                Err(ImportError::Invalid(lines)) => {
                    eprintln!("{} : fichier refusé, rien n'a été importé.", file.display());
                    for l in &lines {
                        eprintln!("  {l}");
                    }
                    anyhow::bail!("{} erreur(s)", lines.len());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::Backup { output } => {
            let db = connect(&url).await?;
            let out = output.unwrap_or_else(|| crate::backup::default_path(&db));
            crate::backup::run(&db, &url, &out).await?;
            println!("Copie écrite : {}", out.display());
        }
        Command::Restore { file, force } => {
            crate::backup::restore(&url, &file, force).await?;
            println!(
                "Copie {} restaurée dans {}.",
                file.display(),
                redact_url(&url)
            );
        }
    }
    Ok(())
}

async fn import_directory(
    db: &Db,
    kind: ImportKind,
    file: &std::path::Path,
    bytes: &[u8],
    force: bool,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let quiet = &crate::import::quiet;
    let result = match kind {
        ImportKind::Rpps => crate::import::rpps::import_with(db, bytes, quiet, force).await,
        _ => crate::import::finess::import_with(db, bytes, quiet, force).await,
    };
    match result {
        Ok((s, warnings)) => {
            for w in warnings.iter().take(crate::import::MAX_REPORTED) {
                eprintln!("  {w}");
            }
            println!(
                            "{} ({}) : {} fiches, {} ajoutées, {} modifiées, {} supprimées, {} lignes ignorées, en {:.1} s.",
                            file.display(),
                            s.file_date,
                            s.total,
                            s.added,
                            s.changed,
                            s.removed,
                            s.skipped,
                            started.elapsed().as_secs_f64()
                        );
            Ok(())
        }
        Err(ImportError::Invalid(lines)) => {
            eprintln!("{} : fichier refusé, rien n'a été importé.", file.display());
            for l in &lines {
                eprintln!("  {l}");
            }
            anyhow::bail!("{} erreur(s)", lines.len());
        }
        Err(e) => Err(e.into()),
    }
}
