//! The `tandem` binary: parse the command line, load configuration, run.

use clap::Parser;

// Many small, long-lived allocations per socket: mimalloc keeps them dense, where the system
// allocator leaves handshake garbage between them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use tandem_api::cli::{self, Cli, Command};
use tandem_api::{telemetry, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        print!("{}", tandem_api::routes::openapi_json());
        return Ok(());
    }
    let mut config = Config::load(cli.config.as_deref())?;
    telemetry::init_logs(config.log_format);
    if !config.ignored_env().is_empty() {
        tracing::warn!(
            variables = %config.ignored_env().join(", "),
            "ignoring TANDEM_* environment variables that name no setting (Kubernetes sets such \
             variables for a Service named tandem; a misspelt setting would be among them)"
        );
    }
    match cli.command.unwrap_or(Command::Serve { role: None }) {
        Command::Serve { role } => {
            if let Some(role) = role {
                config.role = role;
                config.validate()?;
            }
            let listener = tokio::net::TcpListener::bind(&config.listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
            tandem_api::serve(config, listener, shutdown_signal()).await
        }
        other => cli::run(other, &config).await,
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
