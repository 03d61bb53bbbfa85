//! The Tandem server: REST API, authentication and operations endpoints, served on a listener
//! the caller provides, until a shutdown signal.

pub mod auth;
pub mod bootstrap;
pub mod check;
pub mod cli;
pub mod config;
pub mod embedded;
pub mod error;
pub mod extract;
pub mod keys;
pub mod mail;
pub mod routes;
pub mod saml;
pub mod telemetry;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, Method};
use metrics_exporter_prometheus::PrometheusHandle;
use tandem_core::bus::InProcessBus;
use tandem_core::model::User;
use tandem_core::service::Service;
use tokio::net::TcpListener;
use tower_http::cors::{Any, CorsLayer};

pub use config::Config;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    service: Arc<Service>,
    config: Config,
    public_base: String,
    metrics: PrometheusHandle,
    hub: Arc<tandem_realtime::Hub>,
    /// Recently seen agents, so a JWT does not cost a write per request.
    users: Mutex<HashMap<(String, tandem_core::email::Email), (User, Instant)>>,
    /// Customer fonts relayed to the viewer (`routes::assets`).
    assets: routes::AssetCache,
    /// The scheme, host and port of `public_base`: our pages' `Origin`.
    origin: String,
    mailer: mail::Mailer,
    /// When each key was last recorded as used, so a JWT does not cost a write per request.
    keys_used: Mutex<HashMap<(String, String), Instant>>,
}

impl AppState {
    pub fn service(&self) -> &Arc<Service> {
        &self.inner.service
    }
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
    /// The base URL clients reach this server at, without a trailing slash.
    pub fn public_base(&self) -> &str {
        &self.inner.public_base
    }
    pub fn metrics_handle(&self) -> &PrometheusHandle {
        &self.inner.metrics
    }
    pub fn hub(&self) -> &Arc<tandem_realtime::Hub> {
        &self.inner.hub
    }
    pub(crate) fn asset_cache(&self) -> &routes::AssetCache {
        &self.inner.assets
    }
    /// Our pages' origin (`scheme://host[:port]`).
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }
    pub fn mailer(&self) -> &mail::Mailer {
        &self.inner.mailer
    }
    /// Records that a key verified a JWT, at most once a minute per key and replica.
    pub(crate) async fn key_used(&self, account_id: &str, kid: &str) {
        let key = (account_id.to_owned(), kid.to_owned());
        {
            let mut used = self.inner.keys_used.lock().expect("key use lock");
            if used
                .get(&key)
                .is_some_and(|at| at.elapsed() < Duration::from_secs(60))
            {
                return;
            }
            if used.len() > 10_000 {
                used.clear();
            }
            used.insert(key, Instant::now());
        }
        if let Err(e) = self.service().key_used(account_id, kid).await {
            tracing::warn!(error = %e, "could not record a key's use");
        }
    }
}

/// Opens the database named by the configuration, applies its migrations, and puts the one
/// service every change goes through in front of it.
pub async fn open_service(config: &Config) -> anyhow::Result<Arc<Service>> {
    let bus = Arc::new(InProcessBus::default());
    let service = Service::open(&config.database_url, bus, config.service())
        .await
        .with_context(|| format!("opening the database ({:?})", config))?;
    Ok(Arc::new(service))
}

fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-cobrowseplatform"),
            HeaderName::from_static("x-cobrowsesdkversion"),
            HeaderName::from_static("x-cobrowseapiversion"),
            HeaderName::from_static("x-cobrowselicense"),
            HeaderName::from_static("x-cobrowsedevice"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(3600))
}

/// Serves Tandem on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    config.validate()?;
    let bound: SocketAddr = listener.local_addr()?;
    let service = open_service(&config).await?;
    let account = if config.bootstrap_account.is_empty() {
        None
    } else {
        bootstrap::bootstrap(
            &service,
            &config.bootstrap_account,
            &config.bootstrap_admin_email,
        )
        .await?
    };

    let public_base = config.public_base(bound);
    let mailer = mail::Mailer::from_config(&config).map_err(|e| anyhow::anyhow!("smtp_url {e}"))?;
    if !config.bootstrap_account.is_empty() {
        bootstrap::banner(&service, &mailer, &config, account.as_ref(), &public_base).await?;
    }
    let origin = config::origin_of(&public_base).to_owned();
    let metrics = telemetry::metrics_handle();
    let hub = tandem_realtime::Hub::start(service.clone(), config.realtime(&public_base));
    let state = AppState {
        inner: Arc::new(Inner {
            service: service.clone(),
            public_base,
            metrics,
            hub: hub.clone(),
            users: Mutex::new(HashMap::new()),
            assets: routes::AssetCache::default(),
            origin,
            mailer,
            keys_used: Mutex::new(HashMap::new()),
            config: config.clone(),
        }),
    };
    let mut app = routes::router(state, config.role.serves_rest());
    if config.role.serves_sockets() {
        app = tandem_realtime::router(hub.clone()).merge(app);
    }
    let app = telemetry::layers(app, Duration::from_secs(config.request_timeout_secs))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(cors());

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let reaper = tokio::spawn(service.clone().run_reaper({
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }));

    tracing::info!(
        listen = %bound,
        backend = service.backend().as_str(),
        database = %config.database_shown(),
        role = %config.role,
        "tandem is serving"
    );
    let drain = Duration::from_secs(config.request_timeout_secs);
    let sockets = hub.clone();
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: closing sockets and draining requests");
        let _ = stop_tx.send(true);
        // Sockets get a close frame (1001) and reconnect to another replica.
        sockets.shutdown(Duration::from_secs(5)).await;
    });
    let mut stopped = stop_rx.clone();
    tokio::select! {
        r = server => r.context("serving HTTP")?,
        _ = async {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(drain).await;
        } => tracing::warn!("requests still running after the drain limit; stopping anyway"),
    }
    reaper.await.ok();
    Ok(())
}
