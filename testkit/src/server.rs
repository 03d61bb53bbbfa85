//! A running server: `tandem_api::serve` in this process on port 0, or the `tandem` binary in a
//! process of its own, with a handle on its database for set-up.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tandem_api::Config;
use tandem_core::store::{self, Backend, Store};
use tandem_core::testing::TestDb;

use crate::{eventually, free_port};

/// A running server and a handle on its database for set-up.
pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// A `tandem` process, for servers started with [`Server::spawn`].
    process: Option<Child>,
    /// Dropped with the server: the database goes away (unless another server owns it).
    db: Option<TestDb>,
}

/// The `tandem` binary beside the running executable: a benchmark's in `target/<profile>/`, a
/// test's one folder up from `target/<profile>/deps/` (Cargo builds it for the package's tests).
pub fn tandem_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the running executable's path");
    let mut dir = exe.parent().expect("the executable's folder");
    if dir.ends_with("deps") {
        dir = dir.parent().expect("the profile folder");
    }
    dir.join("tandem")
}

impl Server {
    pub async fn start(backend: Backend) -> Server {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Server {
        let db = TestDb::new(backend).await;
        let url = db.url.clone();
        Self::start_on(&url, tweak).await.owning(db)
    }

    /// A server on an existing database (a second replica of a cluster, say).
    pub async fn start_on(database_url: &str, tweak: impl FnOnce(&mut Config)) -> Server {
        let mut config = Config {
            database_url: database_url.to_owned(),
            bootstrap_account: String::new(),
            ..Config::default()
        };
        tweak(&mut config);
        let store = store::open(&config.database_url)
            .await
            .expect("opening the store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding port 0");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(tandem_api::serve(config, listener, async {
            let _ = stopped.await;
        }));
        let mut server = Server::new(base, store);
        server.stop = Some(stop);
        server.task = Some(task);
        server.wait_ready().await;
        server
    }

    /// The real `tandem` binary ([`tandem_bin`]) in a process of its own, on an existing
    /// database, configured by `TANDEM_*` variables and started with `args` (after `serve`).
    pub async fn spawn(database_url: &str, env: &[(&str, String)], args: &[&str]) -> Server {
        Self::spawn_bin(&tandem_bin(), database_url, env, args, Stdio::inherit()).await
    }

    /// The `tandem` binary on a fresh database of `backend`, configured by `TANDEM_*` variables:
    /// a process of its own, so its metrics count only what the test does (the recorder is
    /// shared by every server in a process).
    pub async fn spawn_fresh(backend: Backend, env: &[(&str, String)]) -> Server {
        let db = TestDb::new(backend).await;
        let url = db.url.clone();
        Self::spawn(&url, env, &[]).await.owning(db)
    }

    /// [`Server::spawn`] with a given binary and somewhere for its log lines to go.
    pub async fn spawn_bin(
        bin: &Path,
        database_url: &str,
        env: &[(&str, String)],
        args: &[&str],
        stdout: Stdio,
    ) -> Server {
        // Migrated here first, so the process never races this one over a fresh database.
        let store = store::open(database_url).await.expect("opening the store");
        let port = free_port();
        let child = Command::new(bin)
            .arg("serve")
            .args(args)
            .env("TANDEM_DATABASE_URL", database_url)
            .env("TANDEM_LISTEN", format!("127.0.0.1:{port}"))
            .env("TANDEM_BOOTSTRAP_ACCOUNT", "")
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(stdout)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let mut server = Server::new(format!("http://127.0.0.1:{port}"), store);
        server.process = Some(child);
        server.wait_ready().await;
        server
    }

    fn new(base: String, store: Arc<dyn Store>) -> Server {
        Server {
            base,
            http: reqwest::Client::new(),
            store,
            stop: None,
            task: None,
            process: None,
            db: None,
        }
    }

    /// The server takes `db` with it when it goes.
    pub fn owning(mut self, db: TestDb) -> Server {
        self.db = Some(db);
        self
    }

    /// The process id of a spawned server (`None` for one in this process).
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Child::id)
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(r) = self.http.get(format!("{}/readyz", self.base)).send().await {
                if r.status() == StatusCode::OK {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server did not become ready");
    }

    pub async fn stop(mut self) {
        if let Some(mut child) = self.process.take() {
            // SIGTERM: the graceful path a process manager takes.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let status = tokio::task::spawn_blocking(move || child.wait())
                .await
                .unwrap()
                .unwrap();
            assert!(status.success(), "tandem exited with {status}");
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
    }

    /// Waits until `/readyz` reports the Redis link as `state` (`ok`, `down`).
    pub async fn wait_redis(&self, state: &str) {
        eventually(15, || async {
            let res = self
                .http
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .ok()?;
            let body: Value = res.json().await.ok()?;
            (body["redis"] == state).then_some(())
        })
        .await;
    }

    /// The text of `/metrics`.
    pub async fn metrics_text(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The sum of a Prometheus metric over all its label sets.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics_text().await;
        text.lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .filter(|l| l[name.len()..].starts_with([' ', '{']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed test must not leave a tandem process behind.
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
