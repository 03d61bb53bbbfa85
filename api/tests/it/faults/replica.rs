//! Two replicas, one killed with SIGKILL: the survivor's sockets keep relaying, the killed one's
//! clients reconnect to the survivor with the same credentials, no session ends, and the reaper
//! lease moves over.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use tandem_core::store::Backend;
use tandem_core::testing::TestDb;

use super::{active_session, agent_stream, probe, stream_token};
use crate::common::{Redis, Server};
use crate::ws::{Ended, Socket};

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
