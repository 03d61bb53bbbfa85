//! The test harness: a real `tandem` server on port 0 over a fresh database of either backend,
//! and fresh tenants with keys and tokens.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tandem_api::keys::{self, TokenSpec};
use tandem_api::Config;
use tandem_core::model::{Account, AccountKey, AccountSettings};
use tandem_core::store::{self, Backend, Store};
use tandem_core::testing::TestDb;

pub(crate) use tandem_core::both_backends;

/// A running server and a handle on its database for set-up.
pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    pub store: std::sync::Arc<dyn Store>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// A `tandem` process, for servers started with [`Server::spawn`].
    process: Option<std::process::Child>,
    /// Dropped with the server: the database goes away (unless another server owns it).
    _db: Option<TestDb>,
}

impl Server {
    pub async fn start(backend: Backend) -> Server {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Server {
        let db = TestDb::new(backend).await;
        let url = db.url.clone();
        let mut server = Self::start_on(&url, tweak).await;
        server._db = Some(db);
        server
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
        let http = reqwest::Client::new();
        let server = Server {
            base,
            http,
            store,
            stop: Some(stop),
            task: Some(task),
            process: None,
            _db: None,
        };
        server.wait_ready().await;
        server
    }

    /// The real `tandem` binary in a process of its own, on an existing database, configured
    /// by `TANDEM_*` variables and started with `args` (after `serve`).
    pub async fn spawn(database_url: &str, env: &[(&str, String)], args: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("serve")
            .args(args)
            .env("TANDEM_DATABASE_URL", database_url)
            .env("TANDEM_LISTEN", format!("127.0.0.1:{port}"))
            .env("TANDEM_BOOTSTRAP_ACCOUNT", "")
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .spawn()
            .expect("starting the tandem binary");
        let store = store::open(database_url).await.expect("opening the store");
        let server = Server {
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            store,
            stop: None,
            task: None,
            process: Some(child),
            _db: None,
        };
        server.wait_ready().await;
        server
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
            let _ = std::process::Command::new("kill")
                .arg(child.id().to_string())
                .status();
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

    /// A new account with a generated key and an administrator token.
    pub async fn tenant(&self) -> Tenant {
        self.tenant_with(AccountSettings::default()).await
    }

    pub async fn tenant_with(&self, settings: AccountSettings) -> Tenant {
        let account = tandem_core::service::new_account("test", &settings);
        self.store
            .create_account(&account)
            .await
            .expect("creating an account");
        let pair = keys::generate(&account.id).expect("generating a key");
        self.store
            .add_key(&pair.key)
            .await
            .expect("storing the key");
        let mut tenant = Tenant {
            account,
            key: pair.key,
            private_pem: pair.private_pem,
            admin: String::new(),
        };
        tenant.admin = tenant.token("admin@example.com", Some("administrator"));
        tenant
    }

    /// Sends a request; returns the status and the JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("sending a request");
        read(res).await
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

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    /// Creates a session as `token` and returns it.
    pub async fn create_session(&self, token: &str, body: Value) -> Value {
        let (status, session) = self.post("/api/1/sessions", token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{session}");
        session
    }

    /// Registers a device with the tenant's license key; returns the reply (with `device_token`).
    pub async fn register_device(&self, tenant: &Tenant, id: &str, custom_data: Value) -> Value {
        let res = self
            .http
            .post(format!("{}/api/1/devices/{id}", self.base))
            .header("X-CobrowseLicense", &tenant.account.license_key)
            .json(&json!({"device": {"platform": "web", "sdk_version": "test"}, "custom_data": custom_data}))
            .send()
            .await
            .unwrap();
        let (status, body) = read(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A session created by the admin agent, joined by a newly registered device `device_id` (by
    /// its code) and accepted by the customer: the active session and the device's registration.
    pub async fn active_session(&self, tenant: &Tenant, device_id: &str) -> (Value, Value) {
        let device = self.register_device(tenant, device_id, json!({})).await;
        let s = self
            .create_session(&tenant.admin, json!({"agent": "me"}))
            .await;
        let joined = self.device_join(tenant, &device, &s).await;
        let (status, active) = self
            .device_call(
                tenant,
                &device,
                Method::PUT,
                &format!("/api/1/sessions/{}", joined["id"].as_str().unwrap()),
                Some(json!({"state": "active"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{active}");
        assert_eq!(active["state"], "active");
        (active, device)
    }

    /// A device joins a session an agent created, by redeeming its code (as the web SDK does
    /// when an agent asks it to join): the joined session.
    pub async fn device_join(&self, tenant: &Tenant, device: &Value, session: &Value) -> Value {
        let code = session["code"]
            .as_str()
            .expect("a pending session has a code");
        let (status, joined) = self
            .device_call(
                tenant,
                device,
                Method::PUT,
                &format!("/api/1/sessions/{code}"),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{joined}");
        joined
    }

    /// A request authenticated as a device.
    pub async fn device_call(
        &self,
        tenant: &Tenant,
        device: &Value,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-CobrowseLicense", &tenant.account.license_key)
            .header("X-CobrowseDevice", device["id"].as_str().unwrap())
            .bearer_auth(device["device_token"].as_str().unwrap());
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.unwrap()).await
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

pub async fn read(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("reading the body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text}"))
    };
    if status.as_u16() >= 400 {
        assert!(
            body["id"].is_string() && body["message"].is_string(),
            "an error must be {{id, message}}: {status} {body}"
        );
    }
    (status, body)
}

pub struct Tenant {
    pub account: Account,
    /// The account's key as stored (public half only).
    pub key: AccountKey,
    /// Its private half, which the test keeps as an integrator would.
    pub private_pem: String,
    pub admin: String,
}

impl Tenant {
    pub fn spec(&self, email: &str, role: Option<&str>) -> TokenSpec {
        TokenSpec {
            license_key: self.account.license_key.clone(),
            email: email.into(),
            audience: "tandem".into(),
            ttl_secs: 600,
            display_name: None,
            role: role.map(str::to_owned),
            policy: None,
        }
    }
    pub fn token(&self, email: &str, role: Option<&str>) -> String {
        keys::mint(&self.key.kid, &self.private_pem, &self.spec(email, role))
            .expect("minting a token")
    }
    pub fn token_with(&self, spec: &TokenSpec) -> String {
        keys::mint(&self.key.kid, &self.private_pem, spec).expect("minting a token")
    }
}

/// Polls `check` until it returns `Some`, for up to `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {secs}s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A private `redis-server` on a free port, for tests that stop it.
pub struct Redis {
    port: u16,
    child: Option<std::process::Child>,
}

impl Redis {
    pub fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Redis { port, child: None };
        r.spawn();
        r
    }

    pub fn spawn(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed (make test needs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
