//! The database going away under load: its backends terminated, then the server stopped for
//! 30 s. Every request gets a success or a prompt 503 `{id, message}` with `Retry-After`, never
//! another 5xx; `/readyz` says not ready; Tandem serves again within 5 s of the database's
//! return; nothing is half-written.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::RequestBuilder;
use serde_json::{json, Map, Value};
use sqlx::{Connection, PgConnection};
use tandem_core::custom_data::filter_pairs;

use super::pg::PrivatePg;
use crate::common::{eventually, Server, Tenant};
use crate::ws::{Ended, Socket};

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

/// Every write a client was told succeeded is in the database, with one of the custom data it
/// could have left (`stored`: id → custom data as read back).
fn all_kept(what: &str, written: &[Written], stored: &BTreeMap<String, Value>) {
    for w in written {
        let data = stored
            .get(&w.id)
            .unwrap_or_else(|| panic!("{what} {} was acknowledged and is gone", w.id));
        assert!(
            w.candidates.contains(data),
            "{what} {}: custom_data {data} is none of {:?}",
            w.id,
            w.candidates
        );
    }
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
    all_kept("session", &load.sessions.lock().unwrap(), &stored);

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
    all_kept("device", &load.devices.lock().unwrap(), &stored);
    println!(
        "faults: rows checked: {} sessions ({} acknowledged), {} devices ({} acknowledged), all consistent",
        sessions.len(),
        load.sessions.lock().unwrap().len(),
        devices.len(),
        load.devices.lock().unwrap().len()
    );
}
