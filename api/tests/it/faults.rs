//! Faults: the database going away under load, a replica killed with SIGKILL, a socket that
//! stops reading.
//!
//! - PostgreSQL (an instance of the test's own, so the machine's shared one is never stopped):
//!   its backends terminated under load, then the server stopped for 30 s. Every request gets a
//!   success or a prompt 503 `{id, message}` with `Retry-After`, never another 5xx; `/readyz`
//!   says not ready; Tandem serves again within 5 s of the database's return; nothing is
//!   half-written.
//! - Two replicas, one killed with SIGKILL: the survivor's sockets keep relaying, the killed
//!   one's clients reconnect to the survivor with the same credentials, no session ends, and
//!   the reaper lease moves over.
//! - A stalled agent on a busy session stream is closed with 4008; everyone else gets every
//!   frame.
//!
//! Each prints what it measured (`-- --nocapture` shows it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Map, Value};
use sqlx::{Connection, PgConnection};
use tandem_core::custom_data::filter_pairs;
use tandem_core::store::Backend;
use tandem_core::testing::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{eventually, Redis, Server, Tenant};
use crate::ws::{encode, try_connect, ws_url, Ended, Socket};

// ---- a PostgreSQL of the test's own ----------------------------------------------------------

/// A PostgreSQL server for one test: `initdb` into a temp dir, trust auth, listening on a free
/// loopback port with its socket in that dir. Stopped and removed when dropped, panic or not.
struct PrivatePg {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb`.
fn postgres_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "the fault tests run a PostgreSQL of their own and need initdb and pg_ctl in \
             /usr/lib/postgresql/<version>/bin: install the postgresql package (.ci/run does)"
        )
    })
}

fn as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PrivatePg {
    fn start() -> PrivatePg {
        let root =
            std::env::temp_dir().join(format!("tandem-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&root).expect("creating the PostgreSQL dir");
        let pg = PrivatePg {
            bin: postgres_bin(),
            root,
            port: free_port(),
        };
        if as_root() {
            // PostgreSQL refuses to run as root: its files belong to the postgres user.
            let ok = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&pg.root)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown postgres {} failed", pg.root.display());
        }
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        pg.start_server();
        pg
    }

    fn data(&self) -> String {
        self.root.join("data").display().to_string()
    }

    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, name: &str, args: &[&str]) {
        let out = self
            .tool(name)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running {name}: {e}"));
        let log = std::fs::read_to_string(self.root.join("log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "{name} {args:?} failed: {}\n{}\n{log}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server; returns once it accepts connections.
    fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.root.display()
        );
        let (data, log) = (self.data(), self.root.join("log").display().to_string());
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
    }

    /// `pg_ctl stop -m fast`: every backend is told to go (57P01), then the server exits.
    fn stop_server(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

// ---- load ------------------------------------------------------------------------------------

/// What one request got.
#[derive(Debug, Clone)]
struct Outcome {
    what: &'static str,
    started: Instant,
    took: Duration,
    /// `None`: no answer within [`HANG`], or the connection failed.
    status: Option<u16>,
    /// The error body's `id`, when it had `{id, message}` strings.
    error_id: Option<String>,
    retry_after: bool,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
    /// A 503 as promised: `{id: "database_unavailable", message}` and `Retry-After`.
    fn unavailable(&self) -> bool {
        self.status == Some(503)
            && self.error_id.as_deref() == Some("database_unavailable")
            && self.retry_after
    }
}

/// A request slower than this is a hang.
const HANG: Duration = Duration::from_secs(10);

/// A row the clients wrote, and the `custom_data` values it may hold: the acknowledged one, or
/// either side of an update whose answer was a 503.
struct Written {
    id: String,
    candidates: Vec<Value>,
}

/// Concurrent clients creating and updating sessions and registering and refreshing devices.
struct Load {
    http: reqwest::Client,
    base: String,
    admin: String,
    license: String,
    outcomes: Mutex<Vec<Outcome>>,
    sessions: Mutex<Vec<Written>>,
    devices: Mutex<Vec<Written>>,
    stop: AtomicBool,
}

impl Load {
    async fn send(&self, what: &'static str, req: RequestBuilder) -> (Outcome, Value) {
        let started = Instant::now();
        let answer = tokio::time::timeout(HANG, async {
            let res = req.send().await.ok()?;
            let status = res.status().as_u16();
            let retry_after = res.headers().contains_key(reqwest::header::RETRY_AFTER);
            let body = res.json::<Value>().await.unwrap_or(Value::Null);
            Some((status, retry_after, body))
        })
        .await
        .ok()
        .flatten();
        let (status, retry_after, body) = match answer {
            Some((s, r, b)) => (Some(s), r, b),
            None => (None, false, Value::Null),
        };
        let error_id = match (&body["id"], &body["message"]) {
            (Value::String(id), Value::String(m)) if !m.is_empty() => Some(id.clone()),
            _ => None,
        };
        let outcome = Outcome {
            what,
            started,
            took: started.elapsed(),
            status,
            error_id,
            retry_after,
        };
        self.outcomes.lock().unwrap().push(outcome.clone());
        (outcome, body)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One client's loop: a session created and updated, a device registered and refreshed.
    async fn client(self: Arc<Self>, c: usize) {
        let mut n = 0;
        while !self.stop.load(Ordering::Relaxed) {
            n += 1;
            let data =
                json!({"client": c.to_string(), "n": n.to_string(), "plan": "a", "old": "x"});
            let req = self
                .http
                .post(self.url("/api/1/sessions"))
                .bearer_auth(&self.admin)
                .json(&json!({"agent": "me", "custom_data": data}));
            let (o, body) = self.send("create session", req).await;
            if o.status == Some(201) {
                let id = body["id"].as_str().unwrap().to_owned();
                let mut w = Written {
                    id: id.clone(),
                    candidates: vec![body["custom_data"].clone()],
                };
                let patch = json!({"plan": "b", "old": null, "m": n.to_string()});
                let req = self
                    .http
                    .put(self.url(&format!("/api/1/sessions/{id}")))
                    .bearer_auth(&self.admin)
                    .json(&json!({"custom_data": patch}));
                let (o, body) = self.send("update session", req).await;
                if o.ok() {
                    w.candidates = vec![body["custom_data"].clone()];
                } else {
                    let merged = merge(&w.candidates[0], &patch);
                    w.candidates.push(merged);
                }
                self.sessions.lock().unwrap().push(w);
            }

            let id = format!("fault-{c}-{n}");
            let req = self
                .http
                .post(self.url(&format!("/api/1/devices/{id}")))
                .header("X-CobrowseLicense", &self.license)
                .json(
                    &json!({"device": {"platform": "web", "sdk_version": "test"},
                    "custom_data": {"client": c.to_string(), "plan": "a"}}),
                );
            let (o, body) = self.send("register device", req).await;
            if o.ok() {
                let token = body["device_token"].as_str().unwrap().to_owned();
                let mut w = Written {
                    id: id.clone(),
                    candidates: vec![body["custom_data"].clone()],
                };
                let next = json!({"client": c.to_string(), "plan": "b", "n": n.to_string()});
                let req = self
                    .http
                    .put(self.url(&format!("/api/1/devices/{id}")))
                    .header("X-CobrowseLicense", &self.license)
                    .header("X-CobrowseDevice", &id)
                    .bearer_auth(token)
                    .json(
                        &json!({"device": {"platform": "web", "sdk_version": "test"},
                        "custom_data": next}),
                    );
                let (o, body) = self.send("refresh device", req).await;
                if o.ok() {
                    w.candidates = vec![body["custom_data"].clone()];
                } else {
                    w.candidates.push(next);
                }
                self.devices.lock().unwrap().push(w);
            }
        }
    }

    /// The outcomes of requests started in `[from, to)` (and, if `settled`, also finished).
    fn between(&self, from: Instant, to: Instant, settled: bool) -> Vec<Outcome> {
        self.outcomes
            .lock()
            .unwrap()
            .iter()
            .filter(|o| o.started >= from && o.started < to)
            .filter(|o| !settled || o.started + o.took < to)
            .cloned()
            .collect()
    }
}

/// `custom_data` after a partial update: keys given replace, `null` removes.
fn merge(current: &Value, patch: &Value) -> Value {
    let mut next = current.as_object().cloned().unwrap_or_default();
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            next.remove(k);
        } else {
            next.insert(k.clone(), v.clone());
        }
    }
    Value::Object(next)
}

/// Requests, successes, promised 503s and anything else, for the report.
fn tally(outcomes: &[Outcome]) -> String {
    let ok = outcomes.iter().filter(|o| o.ok()).count();
    let unavailable = outcomes.iter().filter(|o| o.unavailable()).count();
    let other_5xx = outcomes
        .iter()
        .filter(|o| o.status.is_some_and(|s| s >= 500) && !o.unavailable())
        .count();
    let slowest = outcomes.iter().map(|o| o.took).max().unwrap_or_default();
    format!(
        "{} requests, {ok} ok, {unavailable} 503, {other_5xx} non-503 5xx, slowest {slowest:.1?}",
        outcomes.len()
    )
}

/// Requests answered with anything but a success or a promised 503, or not answered in time.
fn bad(outcomes: &[Outcome]) -> Vec<&Outcome> {
    outcomes
        .iter()
        .filter(|o| !(o.ok() || o.unavailable()) || o.took > Duration::from_secs(6))
        .collect()
}

async fn readyz(http: &reqwest::Client, base: &str) -> Option<(u16, Value)> {
    let res = tokio::time::timeout(HANG, http.get(format!("{base}/readyz")).send())
        .await
        .ok()?
        .ok()?;
    let status = res.status().as_u16();
    Some((status, res.json().await.unwrap_or(Value::Null)))
}

// ---- 1. the database goes away -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_going_away_under_load_gets_503s_and_heals() {
    let pg = PrivatePg::start();
    let mut admin = PgConnection::connect(&pg.url("postgres"))
        .await
        .expect("connecting to the private PostgreSQL");
    sqlx::query("CREATE DATABASE tandem")
        .execute(&mut admin)
        .await
        .unwrap();
    let server = Server::start_on(&pg.url("tandem"), |_| {}).await;
    let t = server.tenant().await;
    let watcher = server.register_device(&t, "watcher", json!({})).await;
    let load = Arc::new(Load {
        http: reqwest::Client::new(),
        base: server.base.clone(),
        admin: t.admin.clone(),
        license: t.account.license_key.clone(),
        outcomes: Mutex::default(),
        sessions: Mutex::default(),
        devices: Mutex::default(),
        stop: AtomicBool::new(false),
    });
    let began = Instant::now();
    let clients: Vec<_> = (0..4)
        .map(|c| tokio::spawn(load.clone().client(c)))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let warm = load.between(began, Instant::now(), true);
    assert!(
        warm.iter().filter(|o| o.ok()).count() > 10,
        "the load runs: {}",
        tally(&warm)
    );

    // Every backend of Tandem's database terminated, ten times over, under load.
    let step = |what: &str| println!("faults: +{:.1?} {what}", began.elapsed());
    step("terminating backends");
    let term_from = Instant::now();
    let mut terminated = 0i64;
    for _ in 0..10 {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = 'tandem' AND pid <> pg_backend_pid()) t",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        terminated += n;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let term_to = Instant::now();
    assert!(terminated > 0, "no backend was terminated");
    // And it keeps serving right after.
    let served_again = eventually(5, || async {
        let (o, _) = load
            .send(
                "probe",
                load.http
                    .get(load.url("/api/1/sessions?limit=1"))
                    .bearer_auth(&load.admin),
            )
            .await;
        o.ok().then_some(Instant::now())
    })
    .await;
    let terminate = load.between(term_from, term_to, false);

    // The database stopped for 30 s under load.
    step("stopping the database");
    let stop_from = Instant::now();
    tokio::task::block_in_place(|| pg.stop_server());
    let stopped = Instant::now();
    let ready_while_down = readyz(&load.http, &load.base).await;
    // A socket cannot be authenticated either: it is told to come back (1011), not refused.
    let mut sock = Socket::device(&server, &t, &watcher).await;
    let socket_while_down = sock.closed().await;
    tokio::time::sleep(Duration::from_secs(30) - stopped.elapsed()).await;
    step("starting the database");
    let restart = Instant::now();
    tokio::task::block_in_place(|| pg.start_server());
    // From the moment the database accepts connections again...
    let back = eventually(10, || async {
        PgConnection::connect(&pg.url("tandem"))
            .await
            .ok()
            .map(|_| Instant::now())
    })
    .await;
    // ...to Tandem's first success on a request sent after it.
    let recovered = eventually(10, || async {
        let (o, _) = load
            .send(
                "probe",
                load.http
                    .get(load.url("/api/1/sessions?limit=1"))
                    .bearer_auth(&load.admin),
            )
            .await;
        o.ok().then_some(Instant::now())
    })
    .await;
    let recovery = recovered - back;
    step("served again");
    tokio::time::sleep(Duration::from_secs(3)).await;
    load.stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let ready_after = readyz(&load.http, &load.base).await;

    let all = load.outcomes.lock().unwrap().clone();
    let outage = load.between(stopped, restart, true);
    let after = load.between(recovered + Duration::from_secs(1), Instant::now(), false);
    println!(
        "faults: pg_terminate_backend x10 ({terminated} backends): {}; served again {:.1?} after",
        tally(&terminate),
        served_again - term_to
    );
    println!(
        "faults: database stopped 30 s: {} (while down: {}); recovered {recovery:.2?} after the \
         database accepted connections",
        tally(&load.between(stop_from, back, false)),
        tally(&outage)
    );
    println!("faults: whole run: {}", tally(&all));
    let wrong: Vec<String> = bad(&all)
        .iter()
        .map(|o| {
            format!(
                "{} at +{:.1?}: {:?} {:?} in {:.1?}",
                o.what,
                o.started - began,
                o.status,
                o.error_id,
                o.took
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "only successes and prompt 503 {{id: database_unavailable, message}} with Retry-After: {wrong:#?}"
    );
    let (status, ready) = ready_while_down.expect("/readyz answers while the database is down");
    assert_eq!(status, 503, "/readyz while the database is down: {ready}");
    assert_eq!(ready["database"], "unreachable");
    assert_eq!(
        ready_after.map(|r| r.0),
        Some(200),
        "/readyz once the database is back"
    );
    assert!(
        outage.len() >= 8 && outage.iter().all(Outcome::unavailable),
        "every request while the database was down is a 503: {}",
        tally(&outage)
    );
    assert!(
        recovery < Duration::from_secs(5),
        "served {recovery:?} after the database returned"
    );
    assert!(
        !after.is_empty() && after.iter().all(Outcome::ok),
        "after recovery every request succeeds: {}",
        tally(&after)
    );
    assert!(
        matches!(socket_while_down, Ended::Closed(1011, _)),
        "a socket while the database is down: {socket_while_down:?}"
    );
    let counted: Vec<String> = server
        .metrics_text()
        .await
        .lines()
        .filter(|l| l.starts_with("tandem_database_errors_total{"))
        .map(str::to_owned)
        .collect();
    println!("faults: {counted:?}");
    assert!(
        counted.iter().any(|l| l.contains("kind=\"pool_timeout\"")),
        "outages are counted by kind: {counted:?}"
    );

    // Nothing half-written.
    let mut db = PgConnection::connect(&pg.url("tandem")).await.unwrap();
    check_rows(&mut db, &t, &load).await;
    step("rows checked");
    server.stop().await;
}

/// Every session and device the clients were told exists does, with a `custom_data` they may
/// expect; and every row's index rows (`session_filters`, `session_agents`, `device_filters`)
/// match the row, so no transaction was left half-done.
async fn check_rows(db: &mut PgConnection, t: &Tenant, load: &Load) {
    let account = &t.account.id;
    let sessions: Vec<(String, String, i64, String)> = sqlx::query_as(
        "SELECT id, custom_data, sort_at, agents FROM sessions WHERE account_id = $1",
    )
    .bind(account)
    .fetch_all(&mut *db)
    .await
    .unwrap();
    let filters: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT session_id, key, value, sort_at FROM session_filters WHERE account_id = $1",
    )
    .bind(account)
    .fetch_all(&mut *db)
    .await
    .unwrap();
    let agents: Vec<(String, String)> =
        sqlx::query_as("SELECT session_id, user_id FROM session_agents WHERE account_id = $1")
            .bind(account)
            .fetch_all(&mut *db)
            .await
            .unwrap();
    let mut index: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for (id, k, v, sort_at) in &filters {
        let row = sessions.iter().find(|s| &s.0 == id);
        assert_eq!(
            row.map(|s| s.2),
            Some(*sort_at),
            "session_filters row of {id} without its session, or out of date"
        );
        index.entry(id).or_default().insert(k.clone(), v.clone());
    }
    let mut on: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (id, user) in &agents {
        on.entry(id).or_default().insert(user.clone());
    }
    let mut stored = BTreeMap::new();
    for (id, data, _, agent_list) in &sessions {
        let data: Map<String, Value> = serde_json::from_str(data).unwrap();
        let want: BTreeMap<String, String> = filter_pairs(&data).into_iter().collect();
        assert_eq!(
            index.remove(id.as_str()).unwrap_or_default(),
            want,
            "session {id}: session_filters do not match its custom_data"
        );
        let listed: Vec<Value> = serde_json::from_str(agent_list).unwrap();
        let listed: BTreeSet<String> = listed
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            on.remove(id.as_str()).unwrap_or_default(),
            listed,
            "session {id}: session_agents do not match its agents"
        );
        stored.insert(id.clone(), Value::Object(data));
    }
    for w in load.sessions.lock().unwrap().iter() {
        let data = stored
            .get(&w.id)
            .unwrap_or_else(|| panic!("session {} was created and is gone", w.id));
        assert!(
            w.candidates.contains(data),
            "session {}: custom_data {data} is none of {:?}",
            w.id,
            w.candidates
        );
    }

    let devices: Vec<(String, String)> =
        sqlx::query_as("SELECT id, custom_data FROM devices WHERE account_id = $1")
            .bind(account)
            .fetch_all(&mut *db)
            .await
            .unwrap();
    let filters: Vec<(String, String, String)> =
        sqlx::query_as("SELECT device_id, key, value FROM device_filters WHERE account_id = $1")
            .bind(account)
            .fetch_all(&mut *db)
            .await
            .unwrap();
    let mut index: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for (id, k, v) in &filters {
        index.entry(id).or_default().insert(k.clone(), v.clone());
    }
    let mut stored = BTreeMap::new();
    for (id, data) in &devices {
        let data: Map<String, Value> = serde_json::from_str(data).unwrap();
        let want: BTreeMap<String, String> = filter_pairs(&data).into_iter().collect();
        assert_eq!(
            index.remove(id.as_str()).unwrap_or_default(),
            want,
            "device {id}: device_filters do not match its custom_data"
        );
        stored.insert(id.clone(), Value::Object(data));
    }
    for w in load.devices.lock().unwrap().iter() {
        let data = stored
            .get(&w.id)
            .unwrap_or_else(|| panic!("device {} was registered and is gone", w.id));
        assert!(
            w.candidates.contains(data),
            "device {}: custom_data {data} is none of {:?}",
            w.id,
            w.candidates
        );
    }
    println!(
        "faults: rows checked: {} sessions ({} acknowledged), {} devices ({} acknowledged), all consistent",
        sessions.len(),
        load.sessions.lock().unwrap().len(),
        devices.len(),
        load.devices.lock().unwrap().len()
    );
}

// ---- 2. a replica killed ---------------------------------------------------------------------------

/// An active session on `server`: created by the admin agent, joined by a new device `dev` with
/// its code, accepted by the customer. Returns the session id and the device's registration.
async fn active_session(server: &Server, t: &Tenant, dev: &str) -> (String, Value) {
    let device = server.register_device(t, dev, json!({})).await;
    let s = server
        .create_session(&t.admin, json!({"agent": "me"}))
        .await;
    let code = s["code"].as_str().unwrap();
    let (status, joined) = server
        .device_call(
            t,
            &device,
            Method::PUT,
            &format!("/api/1/sessions/{code}"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    let id = joined["id"].as_str().unwrap().to_owned();
    let (status, active) = server
        .device_call(
            t,
            &device,
            Method::PUT,
            &format!("/api/1/sessions/{id}"),
            Some(json!({"state": "active"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{active}");
    assert_eq!(active["state"], "active");
    (id, device)
}

async fn stream_token(server: &Server, jwt: &str, session: &str) -> String {
    let (status, tokens) = server
        .get(&format!("/api/1/sessions/{session}/tokens"), jwt)
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens["stream_token"].as_str().unwrap().to_owned()
}

async fn agent_stream(server: &Server, token: &str) -> Socket {
    try_connect(&ws_url(&server.base, ""), Some(token), None)
        .await
        .expect("agent stream socket")
}

async fn probe(sock: &mut Socket) {
    sock.send("probe", json!({"timestamp": 1})).await;
    sock.until("alive", |_| true).await;
}

/// One session's two ends and the credentials they came with.
struct Pair {
    id: String,
    device: Value,
    token: String,
    dev: Socket,
    agent: Socket,
    n: u64,
}

impl Pair {
    /// A frame each way.
    async fn relay(&mut self) {
        self.n += 1;
        let n = self.n;
        self.dev.send("frame", json!({"n": n})).await;
        self.agent.until("frame", |d| d["n"] == n).await;
        self.agent.send("highlight", json!({"n": n})).await;
        self.dev.until("highlight", |d| d["n"] == n).await;
    }
}

/// The backend holding the reaper's advisory lock (key `0x7461_6e64_656d_7270`, see
/// `core/src/store/postgres.rs`) in the current database.
async fn lease_holder(db: &mut PgConnection) -> Option<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(0x7461_6e64_i64)
    .bind(0x656d_7270_i64)
    .fetch_optional(db)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_loses_no_session_and_its_clients_move_over() {
    const IDLE_SECS: u64 = 6;
    let db = TestDb::new(Backend::Postgres).await;
    let redis = Redis::start();
    let env = [
        ("TANDEM_REDIS_URL", redis.url()),
        ("TANDEM_INACTIVITY_TIMEOUT_SECS", IDLE_SECS.to_string()),
        ("TANDEM_REAPER_INTERVAL_MS", "250".to_string()),
    ];
    let mut pg = PgConnection::connect(&db.url).await.unwrap();
    // A starts first and takes the reaper lease.
    let a = Server::spawn(&db.url, &env, &[]).await;
    let started = Instant::now();
    let holder_a = loop {
        if let Some(pid) = lease_holder(&mut pg).await {
            break pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "A took no lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let b = Server::spawn(&db.url, &env, &[]).await;
    a.wait_redis("ok").await;
    b.wait_redis("ok").await;
    assert_eq!(
        lease_holder(&mut pg).await,
        Some(holder_a),
        "A keeps the lease"
    );
    let t = b.tenant().await;

    // Both ends on B; both ends on A; the customer on A and the agent on B.
    let mut pairs = Vec::new();
    for (dev_on, agent_on, name) in [(&b, &b, "dev-b"), (&a, &a, "dev-a"), (&a, &b, "dev-ab")] {
        let (id, device) = active_session(&b, &t, name).await;
        let token = stream_token(&b, &t.admin, &id).await;
        let mut dev = Socket::device_stream(dev_on, &t, &device, &id).await;
        let mut agent = agent_stream(agent_on, &token).await;
        probe(&mut dev).await;
        probe(&mut agent).await;
        let mut pair = Pair {
            id,
            device,
            token,
            dev,
            agent,
            n: 0,
        };
        pair.relay().await;
        pairs.push(pair);
    }

    // SIGKILL: dropping a spawned server kills its process (`Child::kill`), no shutdown at all.
    drop(a);
    let killed = Instant::now();
    // B's own sockets never notice.
    pairs[0].relay().await;
    // A's sockets are cut without a close frame; their clients reconnect to B, with the same
    // device token and the same stream token.
    let moved = Instant::now();
    for (p, both) in [(1, true), (2, false)] {
        let pair = &mut pairs[p];
        assert_eq!(pair.dev.closed().await, Ended::Dropped);
        pair.dev = Socket::device_stream(&b, &t, &pair.device, &pair.id).await;
        probe(&mut pair.dev).await;
        if both {
            assert_eq!(pair.agent.closed().await, Ended::Dropped);
            pair.agent = agent_stream(&b, &pair.token).await;
            probe(&mut pair.agent).await;
        }
        pair.relay().await;
    }
    let reconnected = moved.elapsed();

    // The reaper moves to B: a session left idle after the kill is ended by B, while the busy
    // ones live on through several timeouts' worth of reaper passes.
    let idle = b.create_session(&t.admin, json!({})).await;
    let idle_path = format!("/api/1/sessions/{}", idle["id"].as_str().unwrap());
    let mut holder_b = None;
    let mut reaped = None;
    while killed.elapsed() < Duration::from_secs(2 * IDLE_SECS + 2) {
        for pair in pairs.iter_mut() {
            pair.relay().await;
        }
        holder_b = lease_holder(&mut pg).await.or(holder_b);
        if reaped.is_none() {
            let (_, s) = b.get(&idle_path, &t.admin).await;
            if s["state"] == "ended" {
                assert_eq!(s["ended_reason"], "pending_timeout");
                reaped = Some(killed.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        holder_b.is_some_and(|h| h != holder_a),
        "the reaper lease did not move to B ({holder_b:?})"
    );
    let reaped = reaped.expect("B did not reap the idle session: the reaper lease did not move");
    for pair in &pairs {
        let (_, s) = b
            .get(&format!("/api/1/sessions/{}", pair.id), &t.admin)
            .await;
        assert_eq!(s["state"], "active", "session {} was lost: {s}", pair.id);
    }
    println!(
        "faults: replica killed (SIGKILL): {} sessions, 0 lost; clients reconnected in {reconnected:.2?}; \
         B reaped an idle session {reaped:.1?} after the kill ({IDLE_SECS} s timeout)",
        pairs.len()
    );
    b.stop().await;
}

// ---- 3. a stalled client -------------------------------------------------------------------------

/// A WebSocket client on a bare TCP socket with a tiny receive buffer, that reads only when
/// told to: a browser tab frozen by the debugger, a phone gone into a tunnel.
struct RawSocket {
    tcp: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl RawSocket {
    async fn connect(base: &str, token: &str) -> RawSocket {
        let addr = base.trim_start_matches("http://");
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(4096).unwrap();
        let mut tcp = sock.connect(addr.parse().unwrap()).await.unwrap();
        let bearer = base64::engine::general_purpose::STANDARD_NO_PAD.encode(token);
        let req = format!(
            "GET /sockets/1/ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: cbor, cbio.http.headers.authorization.bearer.{bearer}\r\n\r\n"
        );
        tcp.write_all(req.as_bytes()).await.unwrap();
        let mut raw = RawSocket {
            tcp,
            buf: Vec::new(),
        };
        let end = loop {
            if let Some(at) = raw.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            assert!(raw.fill().await, "the server closed during the handshake");
        };
        let head = String::from_utf8_lossy(&raw.buf[..end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        raw.buf.drain(..end + 4);
        raw
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    async fn send(&mut self, frame: &Value) {
        let payload = encode(frame);
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        let mut out = vec![0x82];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n < 65536 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.tcp.write_all(&out).await.unwrap();
    }

    /// The next frame's opcode and payload, or `None` when the connection ends.
    async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if let Some((op, payload, used)) = parse_frame(&self.buf) {
                self.buf.drain(..used);
                return Some((op, payload));
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Reads until an `alive` answers a probe (the socket is on the stream and serving).
    async fn probe(&mut self) {
        self.send(&json!({"event": "probe", "id": 1, "data": {"timestamp": 1}}))
            .await;
        loop {
            let (op, payload) = self.frame().await.expect("the socket is open");
            if op == 2 {
                let v: ciborium::Value = ciborium::from_reader(&payload[..]).unwrap();
                if serde_json::to_value(v).unwrap()["event"] == "alive" {
                    return;
                }
            }
        }
    }

    /// Reads everything left; the close code the server sent, if it sent one.
    async fn close_code(&mut self) -> Option<u16> {
        while let Some((op, payload)) = self.frame().await {
            if op == 8 {
                return Some(u16::from_be_bytes([payload[0], payload[1]]));
            }
        }
        None
    }
}

/// One server frame (unmasked) from the front of `buf`: opcode, payload, bytes used.
fn parse_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, at) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let payload = buf.get(at..at + len)?;
    Some((b0 & 0x0f, payload.to_vec(), at + len))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_agent_on_a_busy_stream_is_closed_alone() {
    // A process of its own, so that its metrics count only this test's sockets.
    let db = TestDb::new(Backend::Postgres).await;
    let server = Server::spawn(&db.url, &[], &[]).await;
    let t = server.tenant().await;
    let (id, device) = active_session(&server, &t, "dev-busy").await;
    let mut stalled =
        RawSocket::connect(&server.base, &stream_token(&server, &t.admin, &id).await).await;
    stalled.probe().await;
    // From here on it reads nothing.
    let mut stalled = Some(stalled);
    let mut fast = agent_stream(&server, &stream_token(&server, &t.admin, &id).await).await;
    let mut dev = Socket::device_stream(&server, &t, &device, &id).await;
    probe(&mut fast).await;
    probe(&mut dev).await;

    // The other agent reads every frame, in order, until the last.
    let (seen_tx, mut seen) = tokio::sync::watch::channel(0u64);
    let reader = tokio::spawn(async move {
        let mut next = 0u64;
        loop {
            let f = match fast.next(30).await {
                Ok(f) => f,
                Err(e) => panic!("the reading agent's socket ended after {next} frames: {e:?}"),
            };
            if f["event"] != "frame" {
                continue;
            }
            assert_eq!(f["data"]["n"], next, "a frame was lost or reordered");
            next += 1;
            seen_tx.send_replace(next);
            if f["data"]["last"] == true {
                return (fast, next);
            }
        }
    });
    // The customer's page sends 4 KB frames, 64 at a time, each batch once the reader has
    // the last: the reader never lags, the stalled socket's buffers and queue fill up.
    let pad = "x".repeat(4000);
    let frame = |n: u64, last: bool| {
        let frame = json!({"event": "frame", "data": {"n": n, "pad": pad, "last": last}});
        Message::Binary(encode(&frame).into())
    };
    let mut sent = 0u64;
    let slow_closes = "tandem_websocket_slow_consumer_closes_total";
    let mut closed_after = None;
    let mut drain = None;
    while sent < 6000 {
        for _ in 0..64 {
            dev.send_raw(frame(sent, false)).await;
            sent += 1;
        }
        let target = sent;
        tokio::time::timeout(Duration::from_secs(30), seen.wait_for(|n| *n >= target))
            .await
            .expect("the reading agent fell behind")
            .unwrap();
        if closed_after.is_none() && server.metric(slow_closes).await > 0.0 {
            closed_after = Some(sent);
            // Its close frame waits behind what it never read: read it all now.
            let mut stalled = stalled.take().unwrap();
            drain = Some(tokio::spawn(async move { stalled.close_code().await }));
        }
        // The burst goes on a while after the close.
        if closed_after.is_some_and(|c| sent >= c + 512) {
            break;
        }
    }
    let closed_after = closed_after.expect("the stalled socket was never closed");
    dev.send_raw(frame(sent, true)).await;
    sent += 1;
    let (mut fast, received) = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("the reading agent did not get the last frame")
        .unwrap();
    assert_eq!(received, sent, "the reading agent got every frame");
    let code = drain.unwrap().await.unwrap();
    assert_eq!(code, Some(4008), "the stalled socket is closed as too slow");
    assert_eq!(
        server.metric(slow_closes).await,
        1.0,
        "only the stalled socket was closed"
    );
    probe(&mut fast).await;
    probe(&mut dev).await;
    println!(
        "faults: stalled agent closed with 4008 after {closed_after} frames of 4 KB; \
         the other agent received all {received}, the customer stayed connected"
    );
    server.stop().await;
}
