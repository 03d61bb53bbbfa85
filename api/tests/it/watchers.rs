//! Who watches a session: the device's stream hears `agents {count}` when it opens and when
//! the count changes, so the customer's page records only while agents watch; a client cannot
//! say it; a page that stopped recording is never served from the replay; and an agent whose
//! coming started the recording gets its snapshot once. (Across replicas: `cluster`.)

use serde_json::{json, Value};
use tandem_core::store::Backend;

use crate::common::{both_backends, Server};
use crate::streams::joined_session;
use crate::ws::Socket;

/// The next `agents` count the socket hears.
pub(crate) async fn agents(sock: &mut Socket) -> u64 {
    sock.until("agents", |_| true).await["count"]
        .as_u64()
        .expect("a count")
}

/// A probe's round trip on `sock`; panics if a frame named `unwanted` comes before its answer.
async fn none_before_probe(sock: &mut Socket, unwanted: &str) {
    sock.send("probe", json!({"timestamp": 7})).await;
    loop {
        let f = sock.next(5).await.expect("the socket stays open");
        assert_ne!(f["event"], unwanted, "{f}");
        if f["event"] == "alive" {
            return;
        }
    }
}

/// An agent's stream, serving (so counted: a probe's answer comes after its setup).
async fn agent_stream(server: &Server, jwt: &str, id: &str) -> Socket {
    let mut sock = Socket::agent_stream(server, jwt, id).await;
    sock.send("probe", json!({"timestamp": 1})).await;
    sock.until("alive", |_| true).await;
    sock
}

fn page_start() -> [Value; 2] {
    [
        json!({"type": 4, "data": {"href": "https://shop.example/"}}),
        json!({"type": 2, "data": {"node": "the whole page"}}),
    ]
}

both_backends!(the_device_hears_how_many_agents_watch);

async fn the_device_hears_how_many_agents_watch(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let (s, device) = joined_session(&server, &t).await;
    let id = s["id"].as_str().unwrap();
    let mut dev = Socket::device_stream(&server, &t, &device, id).await;
    assert_eq!(agents(&mut dev).await, 0, "nobody watches yet");
    let mut first = Socket::agent_stream(&server, &t.admin, id).await;
    assert_eq!(agents(&mut dev).await, 1);
    let mut second = Socket::agent_stream(&server, &t.admin, id).await;
    assert_eq!(agents(&mut dev).await, 2);
    first.ws.close(None).await.unwrap();
    assert_eq!(agents(&mut dev).await, 1);

    // A page that loads anew (a new device stream) hears at once who watches.
    let mut reloaded = Socket::device_stream(&server, &t, &device, id).await;
    assert_eq!(agents(&mut reloaded).await, 1);
    second.ws.close(None).await.unwrap();
    assert_eq!(agents(&mut dev).await, 0);
    assert_eq!(agents(&mut reloaded).await, 0);
    server.stop().await;
}

both_backends!(only_the_server_says_how_many_agents_watch);

async fn only_the_server_says_how_many_agents_watch(backend: Backend) {
    // A process of its own, so that the metrics count this test's frames alone.
    let server = Server::spawn_fresh(backend, &[]).await;
    let t = server.tenant().await;
    let (s, device) = joined_session(&server, &t).await;
    let id = s["id"].as_str().unwrap();
    let mut agent = agent_stream(&server, &t.admin, id).await;
    let mut dev = Socket::device_stream(&server, &t, &device, id).await;
    assert_eq!(agents(&mut dev).await, 1);
    let before = server
        .metric("tandem_realtime_dropped_events_total{reason=\"reserved_event\"}")
        .await;

    // An agent that forges the count is refused, and the page never hears it.
    let forged = agent.send("agents", json!({"count": 0})).await;
    let refused = agent.until("error", |e| e["ref"] == forged).await;
    assert_eq!(refused["id"], "reserved_event", "{refused}");
    none_before_probe(&mut dev, "agents").await;
    // Nor may the page say it, to the agents or to anyone.
    let forged = dev.send("agents", json!({"count": 3})).await;
    let refused = dev.until("error", |e| e["ref"] == forged).await;
    assert_eq!(refused["id"], "reserved_event", "{refused}");
    none_before_probe(&mut agent, "agents").await;
    let after = server
        .metric("tandem_realtime_dropped_events_total{reason=\"reserved_event\"}")
        .await;
    assert_eq!(after - before, 2.0);

    // Only the page says it stopped recording.
    let stop = agent.send("recording-stopped", Value::Null).await;
    let refused = agent.until("error", |e| e["ref"] == stop).await;
    assert_eq!(refused["id"], "invalid_event", "{refused}");
    none_before_probe(&mut dev, "recording-stopped").await;

    // What the page records is counted (so an operator sees what nobody watching saves).
    assert_eq!(
        server
            .metric("tandem_realtime_recording_frames_total")
            .await,
        0.0
    );
    let [meta, _] = page_start();
    let sent = dev.send("rrweb", meta).await;
    dev.until_any(|f| f["ack"] == sent).await;
    assert_eq!(
        server
            .metric("tandem_realtime_recording_frames_total")
            .await,
        1.0
    );
    server.stop().await;
}

both_backends!(a_page_that_stopped_recording_is_never_served_from_the_replay);

async fn a_page_that_stopped_recording_is_never_served_from_the_replay(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let (s, device) = joined_session(&server, &t).await;
    let id = s["id"].as_str().unwrap();
    let mut watching = agent_stream(&server, &t.admin, id).await;
    let mut dev = Socket::device_stream(&server, &t, &device, id).await;
    assert_eq!(agents(&mut dev).await, 1);
    for e in page_start() {
        dev.send("rrweb", e).await;
    }
    for e in page_start() {
        assert_eq!(watching.until("rrweb", |_| true).await, e);
    }
    // While it records, a newcomer is served from the replay, the page undisturbed.
    let mut late = Socket::agent_stream(&server, &t.admin, id).await;
    late.send("sync", json!({"type": "Sync", "id": "late"}))
        .await;
    assert_eq!(late.until("rrweb", |_| true).await["type"], 4);
    none_before_probe(&mut dev, "sync").await;

    // Everyone leaves; the page stops recording and says so: what the replay held goes.
    watching.ws.close(None).await.unwrap();
    assert_eq!(agents(&mut dev).await, 1);
    late.ws.close(None).await.unwrap();
    assert_eq!(agents(&mut dev).await, 0);
    let stopped = dev.send("recording-stopped", Value::Null).await;
    dev.until_any(|f| f["ack"] == stopped).await;

    // The next agent's `sync` goes to the page, for a page as it is now.
    let mut next = Socket::agent_stream(&server, &t.admin, id).await;
    assert_eq!(agents(&mut dev).await, 1);
    next.send("sync", json!({"type": "Sync", "id": "next"}))
        .await;
    assert_eq!(dev.until("sync", |_| true).await["id"], "next");
    none_before_probe(&mut next, "rrweb").await;
    server.stop().await;
}

both_backends!(an_agent_whose_coming_starts_the_recording_gets_it_once);

async fn an_agent_whose_coming_starts_the_recording_gets_it_once(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let (s, device) = joined_session(&server, &t).await;
    let id = s["id"].as_str().unwrap();
    // The page's stream opens with nobody watching: it records nothing, and an agent's `sync`
    // does not wait for a first snapshot that is not coming: it goes to the page.
    let mut dev = Socket::device_stream(&server, &t, &device, id).await;
    assert_eq!(agents(&mut dev).await, 0);
    let mut first = Socket::agent_stream(&server, &t.admin, id).await;
    assert_eq!(agents(&mut dev).await, 1);
    first.send("sync", json!({"type": "Sync", "id": "a"})).await;
    assert_eq!(dev.until("sync", |_| true).await["id"], "a");
    first.ws.close(None).await.unwrap();
    assert_eq!(agents(&mut dev).await, 0);
    let stopped = dev.send("recording-stopped", Value::Null).await;
    dev.until_any(|f| f["ack"] == stopped).await;

    // The next agent's coming starts the page's recording, which reaches it live before its
    // viewer's `sync` is read: that `sync` costs nothing, neither the page nor the replay.
    let mut agent = Socket::agent_stream(&server, &t.admin, id).await;
    assert_eq!(agents(&mut dev).await, 1);
    for e in page_start() {
        dev.send("rrweb", e).await;
    }
    for e in page_start() {
        assert_eq!(agent.until("rrweb", |_| true).await, e, "live");
    }
    agent.send("sync", json!({"type": "Sync", "id": "b"})).await;
    none_before_probe(&mut agent, "rrweb").await;
    none_before_probe(&mut dev, "sync").await;
    // A later `sync` of the same agent (its viewer lost part of the page) is answered.
    agent.send("sync", json!({"type": "Sync", "id": "c"})).await;
    assert_eq!(agent.until("rrweb", |_| true).await["type"], 4);
    none_before_probe(&mut dev, "sync").await;
    server.stop().await;
}
