//! The `maillage` command line. Its help and its errors are in French:
//! [`french`] rewrites what clap would print in English (defaults,
//! variables, possible values, headings), [`clap_error`] its errors.

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::PossibleValue;
use clap::parser::ValueSource;
use clap::{
    Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum,
};

use crate::accounts;
use crate::config::{redact_url, Config};
use crate::domain::roles::{InstanceRole, Role};
use crate::import::progress::Meter;
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
    /// Base de données : sqlite://fichier.db (créé seulement par serve, migrate
    /// et demo) ou postgres://utilisateur:motdepasse@hôte/base
    #[arg(
        long,
        env = "MAILLAGE_DATABASE_URL",
        default_value = "sqlite://maillage.db",
        global = true,
        value_name = "URL"
    )]
    database_url: String,
    /// Fichier de réglages TOML (clés : les noms longs des options) ; options et
    /// variables d'environnement l'emportent sur lui
    #[arg(long, env = "MAILLAGE_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

// `Serve` carries every setting of the server; the enum is parsed once.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Démarrer le serveur web (applique d'abord les migrations)
    Serve {
        /// Adresse et port d'écoute (un nom d'hôte comme localhost:8093 est accepté)
        #[arg(
            long,
            env = "MAILLAGE_ADDR",
            default_value = "127.0.0.1:8080",
            value_name = "ADRESSE"
        )]
        addr: String,
        /// Adresse publique du site, pour les liens envoyés (cookies Secure
        /// quand elle est en https) ; par défaut http://ADRESSE
        #[arg(long, env = "MAILLAGE_PUBLIC_URL", value_name = "URL")]
        public_url: Option<String>,
        /// Charger le territoire de démonstration s'il manque, et afficher ses comptes
        #[arg(long)]
        demo: bool,
        /// Faire confiance à l'en-tête X-Forwarded-For d'un proxy inverse
        #[arg(long, env = "MAILLAGE_TRUST_PROXY")]
        trust_proxy: bool,
        /// Millisecondes pendant lesquelles une page publique anonyme peut être
        /// servie depuis la mémoire du processus (0 : jamais)
        #[arg(
            long,
            env = "MAILLAGE_PUBLIC_CACHE_MS",
            default_value_t = 2000,
            value_name = "MS"
        )]
        public_cache_ms: u64,
        /// Répertoire où les fichiers d'import envoyés attendent leur traitement
        #[arg(
            long,
            env = "MAILLAGE_UPLOAD_DIR",
            default_value = "uploads",
            value_name = "RÉPERTOIRE"
        )]
        upload_dir: std::path::PathBuf,
        /// Garder les documents joints dans ce répertoire plutôt que dans la base
        #[arg(long, env = "MAILLAGE_DOCUMENT_DIR", value_name = "RÉPERTOIRE")]
        document_dir: Option<std::path::PathBuf>,
        /// Relais SMTP des courriels : smtp://[utilisateur:motdepasse@]hôte[:port]
        /// (sans lui, aucun courriel n'est envoyé)
        #[arg(long, env = "MAILLAGE_SMTP_URL", value_name = "URL")]
        smtp_url: Option<String>,
        /// Expéditeur des courriels
        #[arg(
            long,
            env = "MAILLAGE_MAIL_FROM",
            default_value = "Maillage <ne-pas-repondre@maillage.invalid>",
            value_name = "ADRESSE"
        )]
        mail_from: String,
        /// Jours de conservation des inscriptions après leur séance
        #[arg(
            long,
            env = "MAILLAGE_REGISTRATION_RETENTION_DAYS",
            default_value_t = 90,
            value_name = "JOURS"
        )]
        registration_retention_days: i64,
        /// Servir GET /metrics (Prometheus), en local ou avec le jeton
        #[arg(long, env = "MAILLAGE_METRICS")]
        metrics: bool,
        /// Jeton exigé pour lire /metrics (préférez la variable d'environnement)
        #[arg(long, env = "MAILLAGE_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
        /// Fournisseur des SMS : brevo ou webhook (sans lui, aucun SMS n'est envoyé)
        #[arg(long, env = "MAILLAGE_SMS_PROVIDER", value_name = "FOURNISSEUR")]
        sms_provider: Option<String>,
        /// Brevo : adresse de l'API (par défaut https://api.brevo.com/v3) ;
        /// webhook : adresse où poster les messages
        #[arg(long, env = "MAILLAGE_SMS_URL", value_name = "URL")]
        sms_url: Option<String>,
        /// Clé d'API Brevo ou jeton du webhook (préférez la variable d'environnement)
        #[arg(long, env = "MAILLAGE_SMS_API_KEY", hide_env_values = true)]
        sms_api_key: Option<String>,
        /// Nom d'expéditeur affiché sur les téléphones (3 à 11 lettres ou chiffres)
        #[arg(
            long,
            env = "MAILLAGE_SMS_SENDER",
            default_value = "Maillage",
            value_name = "NOM"
        )]
        sms_sender: String,
        /// Secret des accusés de réception : /hooks/sms/FOURNISSEUR/SECRET
        #[arg(long, env = "MAILLAGE_SMS_CALLBACK_SECRET", hide_env_values = true)]
        sms_callback_secret: Option<String>,
        /// Jours avant la séance où part le rappel par SMS (1 ou 2)
        #[arg(
            long,
            env = "MAILLAGE_SMS_REMINDER_DAYS",
            default_value_t = 1,
            value_name = "JOURS"
        )]
        sms_reminder_days: u32,
    },
    /// Créer la base au besoin et appliquer les migrations en attente
    Migrate,
    /// Charger le territoire de démonstration et afficher ses comptes
    Demo,
    /// Gérer les comptes
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Importer un fichier officiel de données ouvertes
    Import {
        /// Type de fichier
        #[arg(value_name = "TYPE")]
        kind: ImportKind,
        /// Fichier à importer
        #[arg(value_name = "FICHIER")]
        file: PathBuf,
        /// FINESS et RPPS : importer même un fichier qui retire plus de 20 %
        /// des fiches de l'annuaire (refusé sinon comme incomplet)
        #[arg(long)]
        force: bool,
        /// RPPS : fichier « PS_LibreAcces_SavoirFaire » des extractions
        /// récentes, qui complète les spécialités absentes du fichier
        /// « Personne activité »
        #[arg(long, value_name = "FICHIER")]
        savoir_faire: Option<PathBuf>,
    },
    /// Gérer les territoires
    Territory {
        #[command(subcommand)]
        command: TerritoryCommand,
    },
    /// Écrire une copie cohérente de la base (possible pendant que le serveur tourne)
    Backup {
        /// Fichier de la copie, jamais écrasé ; par défaut
        /// backups/maillage-AAAAMMJJ-HHMMSS.db (SQLite) ou .dump (PostgreSQL)
        #[arg(long, value_name = "FICHIER")]
        output: Option<PathBuf>,
    },
    /// Écrire le bilan annuel d'un contrat (--year) ou son évaluation de fin
    /// de contrat (--evaluation) en HTML, DOCX, ODT ou XLSX
    Report {
        /// Numéro du contrat (visible dans l'adresse de sa page d'administration)
        #[arg(long, value_name = "ID")]
        contract: i64,
        /// Année du bilan, dans la période du contrat
        #[arg(
            long,
            value_name = "AAAA",
            required_unless_present = "evaluation",
            conflicts_with = "evaluation"
        )]
        year: Option<i32>,
        /// L'évaluation de fin de contrat (toutes les années) plutôt qu'un bilan annuel
        #[arg(long)]
        evaluation: bool,
        /// html, docx, odt ou xlsx
        #[arg(long, value_name = "FORMAT", default_value = "docx")]
        format: String,
        /// Fichier à écrire (remplacé s'il existe)
        #[arg(long, value_name = "FICHIER")]
        output: PathBuf,
    },
    /// Remettre une copie dans la base (absente ou vide), puis la migrer
    Restore {
        /// Fichier écrit par `maillage backup`
        #[arg(value_name = "FICHIER")]
        file: PathBuf,
        /// Remplacer une base qui n'est pas vide (arrêtez d'abord les serveurs)
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Créer un compte et afficher son mot de passe
    Create {
        /// Adresse électronique du compte
        email: String,
        /// Nom affiché ; par défaut la partie de l'adresse avant @
        #[arg(
            long,
            default_value = "",
            hide_default_value = true,
            value_name = "NOM"
        )]
        name: String,
        /// Rôle sur toute l'instance
        #[arg(long, value_enum, default_value_t = InstanceRoleArg::None, value_name = "RÔLE")]
        instance_role: InstanceRoleArg,
        /// Donner un rôle dans ce territoire (identifiant d'adresse, ex. lens-lievin)
        #[arg(long, value_name = "SLUG")]
        territory: Option<String>,
        /// Rôle dans ce territoire (demande --territory ; coordinator si omis)
        #[arg(long, value_enum, requires = "territory", value_name = "RÔLE")]
        role: Option<RoleArg>,
    },
    /// Afficher un lien à usage unique pour choisir un nouveau mot de passe
    /// (valable 24 heures)
    Reset {
        /// Adresse électronique du compte
        email: String,
        /// Adresse publique du site, début du lien affiché
        #[arg(
            long,
            env = "MAILLAGE_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080",
            value_name = "URL"
        )]
        public_url: String,
    },
}

#[derive(Subcommand)]
enum TerritoryCommand {
    /// Créer un territoire et son périmètre (comme la page d'administration)
    Create {
        /// Identifiant d'adresse du territoire (ex. lens-lievin)
        slug: String,
        /// Nom du territoire
        #[arg(long, value_name = "NOM")]
        name: String,
        /// Périmètre : les communes de cet EPCI (numéro SIREN) ; territoire de nature EPCI
        #[arg(
            long,
            value_name = "SIREN",
            required_unless_present = "communes",
            conflicts_with = "communes"
        )]
        epci: Option<String>,
        /// Périmètre : ces communes (codes INSEE séparés par des virgules) ;
        /// nature commune pour une seule, autre sinon
        #[arg(long, value_name = "CODES")]
        communes: Option<String>,
    },
}

/// A role in a territory, as typed on the command line.
#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    /// Coordination : anime le contrat et le site du territoire
    Coordinator,
    /// Partenaire : modifie ce qui lui est confié
    Partner,
    /// Membre d'une instance (groupe de travail…) : voit son espace
    Member,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Coordinator => Role::Coordinator,
            RoleArg::Partner => Role::Partner,
            RoleArg::Member => Role::Member,
        }
    }
}

/// A role over the whole instance, as typed on the command line.
#[derive(Clone, Copy, ValueEnum)]
enum InstanceRoleArg {
    /// Aucun
    None,
    /// Régional (ARS, centre de ressources) : lit tous les territoires, ne modifie rien
    Regional,
    /// Administration : crée les territoires, peut tout faire
    Admin,
}

impl From<InstanceRoleArg> for InstanceRole {
    fn from(r: InstanceRoleArg) -> InstanceRole {
        match r {
            InstanceRoleArg::None => InstanceRole::None,
            InstanceRoleArg::Regional => InstanceRole::Regional,
            InstanceRoleArg::Admin => InstanceRole::Admin,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportKind {
    /// communes.json du paquet npm @etalab/decoupage-administratif
    Communes,
    /// epci.json du même paquet
    Epci,
    /// liste des QPV de l'ANCT (listeqp2024-cog2024.csv)
    Qpv,
    /// extraction FINESS « etalab » des établissements (Windows-1252 ou UTF-8)
    Finess,
    /// FiNESS+ « finess-structures » des établissements (JSON compressé,
    /// .json.gz, publié depuis 2026 à la place de l'extraction etalab)
    FinessPlus,
    /// extraction RPPS « PS_LibreAcces_Personne_activite » des professionnels
    Rpps,
    /// contours des communes (GeoJSON Etalab « contours administratifs ») ou
    /// points (CSV code;latitude;longitude)
    Geo,
    /// population par âge (CSV INSEE « base communale, évolution et structure
    /// de la population »)
    Population,
    /// temps de trajet entre communes (CSV origin;destination;minutes) ;
    /// remplace les précédents
    TravelTimes,
}

/// The command with its help in French: clap's own words (« Usage »,
/// « [default: …] », « [env: …] », « Print help »…) replaced, recursively.
fn french(cmd: clap::Command) -> clap::Command {
    let cmd = cmd
        .disable_help_flag(true)
        .disable_help_subcommand(true)
        .help_template(
            "{before-help}{about-with-newline}\nUtilisation : {usage}\n\n{all-args}{after-help}",
        )
        .subcommand_help_heading("Commandes")
        .subcommand_value_name("COMMANDE")
        .mut_args(describe)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Afficher l'aide"),
        );
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    names
        .into_iter()
        .fold(cmd, |cmd, name| cmd.mut_subcommand(name, french))
}

/// Move an argument's default, variable and possible values into its
/// (French) description, and hide clap's English rendering of them.
fn describe(arg: Arg) -> Arg {
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    let mut notes = Vec::new();
    let takes_values = arg.get_action().takes_values();
    let values: Vec<PossibleValue> = if takes_values {
        arg.get_possible_values()
    } else {
        Vec::new()
    };
    if !values.is_empty() {
        let names: Vec<&str> = values.iter().map(PossibleValue::get_name).collect();
        notes.push(format!("valeurs : {}", names.join(", ")));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if takes_values && !defaults.is_empty() && !arg.is_hide_default_value_set() {
        notes.push(format!("par défaut : {}", defaults.join(", ")));
    }
    if let Some(env) = arg.get_env() {
        notes.push(format!("variable : {}", env.to_string_lossy()));
    }
    let notes: String = notes.iter().map(|n| format!(" [{n}]")).collect();
    let mut long = format!("{help}{notes}");
    if values.iter().any(|v| v.get_help().is_some()) {
        long.push_str("\n\nValeurs possibles :");
        for v in &values {
            long.push_str(&format!("\n  - {}", v.get_name()));
            if let Some(h) = v.get_help() {
                long.push_str(&format!(" : {h}"));
            }
        }
    }
    let arg = arg
        .help(format!("{help}{notes}"))
        .long_help(long)
        .hide_env(true);
    if takes_values {
        arg.hide_possible_values(true).hide_default_value(true)
    } else {
        arg
    }
}

/// Print a clap error in French; returns the exit code.
fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ErrorKind};
    let ctx = |k: ContextKind| e.get(k).map(|v| v.to_string()).unwrap_or_default();
    let msg = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        ErrorKind::InvalidValue => {
            let valid = ctx(ContextKind::ValidValue);
            let mut m = format!(
                "valeur invalide « {} » pour {}",
                ctx(ContextKind::InvalidValue),
                ctx(ContextKind::InvalidArg)
            );
            if !valid.is_empty() {
                m.push_str(&format!(" (valeurs possibles : {valid})"));
            }
            m
        }
        ErrorKind::UnknownArgument => {
            format!("argument inconnu : {}", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::InvalidSubcommand => {
            format!(
                "commande inconnue : {}",
                ctx(ContextKind::InvalidSubcommand)
            )
        }
        ErrorKind::MissingRequiredArgument => {
            format!("argument manquant : {}", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::ArgumentConflict => format!(
            "{} ne peut pas être utilisé avec {}",
            ctx(ContextKind::InvalidArg),
            ctx(ContextKind::PriorArg)
        ),
        ErrorKind::ValueValidation => format!(
            "valeur invalide « {} » pour {}",
            ctx(ContextKind::InvalidValue),
            ctx(ContextKind::InvalidArg)
        ),
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues | ErrorKind::TooFewValues => {
            format!(
                "nombre de valeurs incorrect pour {}",
                ctx(ContextKind::InvalidArg)
            )
        }
        _ => e.to_string().trim().to_owned(),
    };
    eprintln!("erreur : {msg}\nPour l'aide : maillage --help");
    ExitCode::from(2)
}

/// The command line, help included, in French.
fn command() -> clap::Command {
    french(Cli::command()).disable_version_flag(true).arg(
        Arg::new("version")
            .short('V')
            .long("version")
            .action(ArgAction::Version)
            .help("Afficher la version"),
    )
}

pub fn main() -> ExitCode {
    let matches = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return clap_error(e),
    };
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return clap_error(e),
    };
    // Log lines go to stderr, in colour only when it is a terminal.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MAILLAGE_LOG")
                .unwrap_or_else(|_| "maillage=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
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
    let sub = matches.subcommand().map(|(_, m)| m).unwrap_or(matches);
    if !given(sub, "database_url") {
        set(
            &mut cli.database_url,
            matches,
            "database_url",
            file.database_url,
        );
    }
    if let Command::User {
        command: UserCommand::Reset { public_url, .. },
    } = &mut cli.command
    {
        if let Some(m) = sub.subcommand().map(|(_, m)| m) {
            set(public_url, m, "public_url", file.public_url.clone());
        }
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
        sms_provider,
        sms_url,
        sms_api_key,
        sms_sender,
        sms_callback_secret,
        sms_reminder_days,
    } = &mut cli.command
    {
        set(
            sms_provider,
            sub,
            "sms_provider",
            file.sms_provider.map(Some),
        );
        set(sms_url, sub, "sms_url", file.sms_url.map(Some));
        set(sms_api_key, sub, "sms_api_key", file.sms_api_key.map(Some));
        set(sms_sender, sub, "sms_sender", file.sms_sender);
        set(
            sms_callback_secret,
            sub,
            "sms_callback_secret",
            file.sms_callback_secret.map(Some),
        );
        set(
            sms_reminder_days,
            sub,
            "sms_reminder_days",
            file.sms_reminder_days,
        );
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

/// Open the database. Only `serve`, `migrate` and `demo` create a missing
/// SQLite file (`create`); the other commands refuse it, so that a typo in
/// the path does not leave an empty database behind.
async fn connect(url: &str, create: bool) -> anyhow::Result<Db> {
    let db = Db::connect_with(url, create)
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

/// When the demo was loaded before: which of its accounts exist, and how to
/// get a password again (they were printed only once).
async fn print_existing_demo(db: &Db) -> anyhow::Result<()> {
    println!("Le territoire de démonstration existe déjà. Ses comptes :");
    for (label, email) in crate::demo::ACCOUNTS {
        if users::find_by_email(db, email).await?.is_some() {
            println!("  {label:<16} {email}");
        }
    }
    println!(
        "Mot de passe oublié : `maillage user reset EMAIL` affiche un lien pour en choisir un nouveau."
    );
    Ok(())
}

/// Resolve `--addr` (`127.0.0.1:8080`, `localhost:8093`, `[::1]:8080`).
fn resolve(addr: &str) -> anyhow::Result<Vec<SocketAddr>> {
    let found: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| anyhow::anyhow!("adresse d'écoute invalide « {addr} » : {e}"))?
        .collect();
    if found.is_empty() {
        anyhow::bail!("adresse d'écoute invalide « {addr} » : aucune adresse trouvée");
    }
    Ok(found)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.database_url;
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
            sms_provider,
            sms_url,
            sms_api_key,
            sms_sender,
            sms_callback_secret,
            sms_reminder_days,
        } => {
            if !(1..=2).contains(&sms_reminder_days) {
                anyhow::bail!("sms-reminder-days : 1 ou 2 jours avant la séance");
            }
            let sms = sms_provider.filter(|p| !p.is_empty()).map(|provider| {
                crate::messaging::sms::SmsSettings {
                    provider,
                    url: sms_url,
                    api_key: sms_api_key,
                    sender: sms_sender,
                    callback_secret: sms_callback_secret.filter(|s| !s.is_empty()),
                    reminder_days: sms_reminder_days,
                }
            });
            let started = std::time::Instant::now();
            let addrs = resolve(&addr)?;
            // Bound first: a busy port is reported before the database is touched.
            let listener = match tokio::net::TcpListener::bind(&addrs[..]).await {
                Ok(l) => l,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    anyhow::bail!(
                        "adresse déjà utilisée : {addr} (un autre serveur écoute-t-il déjà ?)"
                    )
                }
                Err(e) => anyhow::bail!("écoute sur {addr} impossible : {e}"),
            };
            let db = connect(&url, true).await?;
            if demo {
                match crate::demo::load(&db).await? {
                    Some(accounts) => print_accounts(&accounts),
                    None => print_existing_demo(&db).await?,
                }
            }
            let local = listener.local_addr()?;
            let public_url = public_url.unwrap_or_else(|| format!("http://{addr}"));
            let config = Config {
                database_url: url.clone(),
                addr: local,
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
                sms,
                ..Config::default()
            };
            tracing::info!(?config, "configuration");
            let state = crate::web::AppState::new(db.clone(), config).await?;
            println!(
                "Maillage écoute sur http://{local} (prêt en {} ms)",
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
            let db = Db::connect_with(&url, true)
                .await
                .map_err(|e| anyhow::anyhow!("connexion à {} : {e}", redact_url(&url)))?;
            let applied = db.migrate_reporting().await?;
            if applied.is_empty() {
                println!("Base de données déjà à jour, aucune migration à appliquer.");
            } else {
                println!("Migrations appliquées ({}) :", applied.len());
                for m in &applied {
                    println!("  {m}");
                }
                println!("Base de données à jour.");
            }
            db.close().await;
        }
        Command::Demo => {
            let db = connect(&url, true).await?;
            match crate::demo::load(&db).await? {
                Some(accounts) => print_accounts(&accounts),
                None => print_existing_demo(&db).await?,
            }
        }
        Command::User { command } => {
            let db = connect(&url, false).await?;
            let actor = Actor::system("maillage user");
            match command {
                UserCommand::Create {
                    email,
                    name,
                    instance_role,
                    territory,
                    role,
                } => {
                    let target = match &territory {
                        Some(slug) => {
                            let t = territories::get_by_slug(&db, slug)
                                .await?
                                .ok_or_else(|| anyhow::anyhow!("territoire inconnu « {slug} »"))?;
                            let r: Role = role.unwrap_or(RoleArg::Coordinator).into();
                            Some((t, r))
                        }
                        None => None,
                    };
                    let password = accounts::random_password();
                    let user = accounts::create_user(
                        &db,
                        &actor,
                        &email,
                        &name,
                        &password,
                        instance_role.into(),
                    )
                    .await?;
                    if let Some((t, r)) = &target {
                        users::set_membership(&db, &actor, t.id, user.id, *r).await?;
                    }
                    println!("Compte créé : {}", user.email);
                    if let Some((t, r)) = &target {
                        println!("Rôle : {} dans {} ({})", r.label(), t.name, t.slug);
                    }
                    let ir: InstanceRole = instance_role.into();
                    if ir != InstanceRole::None {
                        println!("Rôle d'instance : {}", ir.label());
                    }
                    println!("Mot de passe : {password}");
                }
                UserCommand::Reset { email, public_url } => {
                    let email = email.trim().to_lowercase();
                    let user = users::find_by_email(&db, &email)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("aucun compte pour {email}"))?;
                    let token = accounts::issue_reset(&db, user.id, 1).await?;
                    println!(
                        "Lien de réinitialisation pour {} (valable 24 heures, une seule fois) :\n{}/admin/reinitialisation/{token}",
                        user.email,
                        public_url.trim_end_matches('/')
                    );
                    println!(
                        "(Le début du lien est l'adresse publique du site : --public-url ou MAILLAGE_PUBLIC_URL.)"
                    );
                }
            }
        }
        Command::Import {
            kind,
            file,
            force,
            savoir_faire,
        } => {
            if savoir_faire.is_some() && !matches!(kind, ImportKind::Rpps) {
                anyhow::bail!("--savoir-faire ne s'utilise qu'avec l'import rpps");
            }
            if let Some(f) = &savoir_faire {
                std::fs::metadata(f).map_err(|e| anyhow::anyhow!("{} : {e}", f.display()))?;
            }
            let db = connect(&url, false).await?;
            // FiNESS+ and RPPS are read from the file as a stream (a
            // national file is 750 MB of JSON once decompressed, or two
            // million rows); the others whole.
            let bytes = if matches!(kind, ImportKind::FinessPlus | ImportKind::Rpps) {
                Vec::new()
            } else {
                std::fs::read(&file).map_err(|e| anyhow::anyhow!("{} : {e}", file.display()))?
            };
            let started = std::time::Instant::now();
            // Rows done, rate and time left on stderr past the first second
            // (a summary line instead when stderr is not a terminal).
            let meter = Meter::new(
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| file.display().to_string()),
            );
            // A directory file identical to what is stored changes no figure.
            let mut changed = true;
            let result = {
                let progress = meter.callback();
                match kind {
                    ImportKind::Finess | ImportKind::FinessPlus | ImportKind::Rpps => {
                        changed = import_directory(
                            &db,
                            kind,
                            &file,
                            &bytes,
                            savoir_faire.as_deref(),
                            force,
                            &meter,
                        )
                        .await?;
                        None
                    }
                    ImportKind::Geo | ImportKind::Population | ImportKind::TravelTimes => {
                        import_reference(&db, kind, &file, &bytes, &meter).await?;
                        None
                    }
                    ImportKind::Communes => {
                        Some(geography::import_communes_with(&db, &bytes, &progress).await)
                    }
                    ImportKind::Epci => {
                        Some(geography::import_epcis_with(&db, &bytes, &progress).await)
                    }
                    ImportKind::Qpv => {
                        Some(geography::import_qpvs_with(&db, &bytes, &progress).await)
                    }
                }
            };
            if matches!(result, Some(Ok(_))) {
                meter.finish();
            }
            drop(meter);
            match result {
                None => {}
                Some(Ok(c)) => println!(
                    "{}",
                    crate::import::summary_line(
                        &file.display().to_string(),
                        &crate::import::Summary {
                            total: c.total,
                            added: c.added,
                            changed: c.changed,
                            ..Default::default()
                        },
                        started.elapsed()
                    )
                ),
                Some(Err(ImportError::Invalid(lines))) => return Err(refused(&file, &lines)),
                Some(Err(e)) => return Err(e.into()),
            }
            // Every import may change a figure of the diagnosis.
            if !changed {
                println!("{}", crate::jobs::UNCHANGED_DIRECTORY);
            } else if !matches!(kind, ImportKind::Epci | ImportKind::Qpv) {
                let report = crate::diagnosis::refresh(&db).await?;
                println!("{}", report.line());
            }
        }
        Command::Territory {
            command:
                TerritoryCommand::Create {
                    slug,
                    name,
                    epci,
                    communes,
                },
        } => {
            let db = connect(&url, false).await?;
            let done = crate::territory_setup::create_from_command_line(
                &db,
                &slug,
                &name,
                epci.as_deref(),
                communes.as_deref(),
            )
            .await?;
            println!("{done}");
        }
        Command::Backup { output } => {
            let db = connect(&url, false).await?;
            let out = output.unwrap_or_else(|| crate::backup::default_path(&db));
            crate::backup::run(&db, &url, &out).await?;
            println!("Copie écrite : {}", out.display());
        }
        Command::Report {
            contract,
            year,
            evaluation: _,
            format,
            output,
        } => {
            let format = crate::report::Format::parse(&format).ok_or_else(|| {
                anyhow::anyhow!("format « {format} » inconnu : html, docx, odt ou xlsx")
            })?;
            let db = connect(&url, false).await?;
            let c = crate::storage::contract::by_id(&db, contract)
                .await?
                .ok_or_else(|| anyhow::anyhow!("aucun contrat n° {contract}"))?;
            let today = chrono::Utc::now()
                .with_timezone(&chrono_tz::Europe::Paris)
                .date_naive();
            let bytes = crate::report::produce(&db, c, year, format, today).await?;
            // Written beside, then renamed: never a half-written report.
            let tmp = output.with_extension("part");
            std::fs::write(&tmp, &bytes)
                .and_then(|_| std::fs::rename(&tmp, &output))
                .map_err(|e| anyhow::anyhow!("écriture de {} : {e}", output.display()))?;
            println!("Écrit : {} ({} octets)", output.display(), bytes.len());
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

fn refused(file: &std::path::Path, lines: &[crate::import::LineError]) -> anyhow::Error {
    eprintln!("{} : fichier refusé, rien n'a été importé.", file.display());
    for l in lines {
        eprintln!("  {l}");
    }
    anyhow::anyhow!("{} erreur(s)", lines.len())
}

/// `maillage import geo|population|travel-times FILE`.
async fn import_reference(
    db: &Db,
    kind: ImportKind,
    file: &std::path::Path,
    bytes: &[u8],
    meter: &Meter,
) -> anyhow::Result<()> {
    use crate::import::{geo, population, travel_times};
    let started = std::time::Instant::now();
    let progress = meter.callback();
    let result = match kind {
        ImportKind::Geo => geo::import_with(db, bytes, &progress).await,
        ImportKind::Population => population::import_with(db, bytes, &progress).await,
        _ => travel_times::import_with(db, bytes, &progress).await,
    };
    match result {
        Ok(s) => {
            meter.finish();
            let summary = crate::import::Summary::from(&s);
            let name = file.display().to_string();
            println!(
                "{}",
                crate::import::summary_line(&name, &summary, started.elapsed())
            );
            Ok(())
        }
        Err(ImportError::Invalid(lines)) => {
            meter.abandon();
            Err(refused(file, &lines))
        }
        Err(e) => {
            meter.abandon();
            Err(e.into())
        }
    }
}

async fn import_directory(
    db: &Db,
    kind: ImportKind,
    file: &std::path::Path,
    bytes: &[u8],
    savoir_faire: Option<&std::path::Path>,
    force: bool,
    meter: &Meter,
) -> anyhow::Result<bool> {
    let started = std::time::Instant::now();
    let progress = meter.callback();
    let result = match kind {
        ImportKind::Rpps => {
            crate::import::rpps::import_file(db, file, savoir_faire, &progress, force).await
        }
        ImportKind::FinessPlus => {
            let f = std::fs::File::open(file)
                .map_err(|e| anyhow::anyhow!("{} : {e}", file.display()))?;
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            crate::import::finess_plus::import_with(db, f, size, &progress, force).await
        }
        _ => crate::import::finess::import_with(db, bytes, &progress, force).await,
    };
    match result {
        Ok((s, warnings)) => {
            meter.finish();
            for w in warnings.iter().take(crate::import::MAX_REPORTED) {
                eprintln!("  {w}");
            }
            let summary = crate::import::Summary::from(&s);
            println!(
                "{}",
                crate::import::summary_line(
                    &file.display().to_string(),
                    &summary,
                    started.elapsed()
                )
            );
            Ok(summary.added + summary.changed + summary.removed > 0)
        }
        Err(ImportError::Invalid(lines)) => {
            meter.abandon();
            Err(refused(file, &lines))
        }
        Err(e) => {
            meter.abandon();
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every argument of every command says what it is for.
    #[test]
    fn every_argument_is_described() {
        fn walk(cmd: &clap::Command, path: &str) {
            for arg in cmd.get_arguments() {
                assert!(
                    arg.get_help()
                        .is_some_and(|h| !h.to_string().trim().is_empty()),
                    "{path} {} n'a pas de description",
                    arg.get_id()
                );
            }
            for sub in cmd.get_subcommands() {
                assert!(sub.get_about().is_some(), "{path} {}", sub.get_name());
                walk(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        walk(&command(), "maillage");
    }
}
