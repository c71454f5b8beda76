//! `auth-server`: the command line — parses it, reads the configuration, and dispatches to the
//! commands of `auth_server` (serve, migrate, create-superuser, prune, bcrypt-time).

use std::io::BufRead;
use std::process::ExitCode;

use auth_server::config::server::DEFAULT_LOG_FILTER;
use auth_server::config::variables;
use auth_server::{bcrypt_time, create_superuser, migrate, prune, Application, Config};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "auth-server",
    version,
    about = "User authentication over HTTP: register, login with JWTs, refresh, logout."
)]
#[command(after_help = environment_help())]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run pending migrations, then serve (the default).
    Serve,
    /// Run pending migrations and exit.
    Migrate,
    /// Create an active, verified admin (staff, superuser). The password comes from
    /// AUTH_SUPERUSER_PASSWORD or, when unset, the first line of standard input.
    CreateSuperuser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: Option<String>,
    },
    /// Delete expired sessions, and revoked sessions older than SESSION_RETENTION, then exit
    /// (serve also does it every PRUNE_INTERVAL).
    Prune,
    /// Times one password check at BCRYPT_COST, as /login does it (for `make bench`).
    #[command(hide = true)]
    BcryptTime {
        #[arg(long, default_value_t = 8)]
        rounds: u32,
    },
}

fn environment_help() -> String {
    let mut help = String::from(
        "Configuration (environment variables; a .env file in the working directory is read too):\n",
    );
    for variable in variables() {
        help.push_str(&variable.help_line());
    }
    help.push_str("  AUTH_SUPERUSER_PASSWORD  password for create-superuser\n");
    help.push_str("Durations accept whole seconds (900) or a number with s, m, h or d (15m, 7d).");
    help
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("auth-server: {message}");
    ExitCode::FAILURE
}

fn superuser_password() -> Result<String, String> {
    if let Ok(password) = std::env::var("AUTH_SUPERUSER_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err("no password: set AUTH_SUPERUSER_PASSWORD or pipe it on standard input".into());
    }
    Ok(password)
}

async fn serve(config: Config) -> ExitCode {
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(error) => return fail(error),
    };
    log::info!("listening on http://{}", app.address());
    println!("auth-server listening on http://{}", app.address());
    match app.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(format!("server error: {error}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A missing .env is normal; a broken one is worth a line.
    if let Err(error) = dotenvy::dotenv() {
        if !error.not_found() {
            return fail(format!(".env: {error}"));
        }
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(DEFAULT_LOG_FILTER))
        .init();
    let mut config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => return fail(error),
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if !matches!(command, Command::Serve) {
        // Nothing may still be connecting in the background when a one-shot command exits.
        config.database.min_idle = 0;
    }
    actix_web::rt::System::new().block_on(async move {
        match command {
            Command::Serve => serve(config).await,
            Command::Migrate => match migrate(&config).await {
                Ok(()) => {
                    println!("migrations applied to {}", config.database_url);
                    ExitCode::SUCCESS
                }
                Err(error) => fail(error),
            },
            Command::BcryptTime { rounds } => match bcrypt_time(config.bcrypt_cost, rounds).await {
                Ok(timing) => {
                    println!("{timing}");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(error),
            },
            Command::CreateSuperuser { email, username } => {
                let password = match superuser_password() {
                    Ok(password) => password,
                    Err(message) => return fail(message),
                };
                match create_superuser(&config, &email, username.as_deref(), &password).await {
                    Ok(user) => {
                        println!("superuser {} created with id {}", user.email, user.id);
                        ExitCode::SUCCESS
                    }
                    Err(error) => fail(error),
                }
            }
            Command::Prune => match prune(&config).await {
                Ok(deleted) => {
                    println!("prune: deleted {deleted} ended session(s)");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(error),
            },
        }
    })
}
