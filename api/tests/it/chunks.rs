//! Events bigger than one socket message (a real page's snapshot) travel as numbered `chunk`
//! frames: relayed to the agents as they come, kept in the replay for late joiners, bounded per
//! event, and refused, with both sides told, when a series breaks the rules.

use ciborium::Value as Cbor;
use serde_json::{json, Value};
use tandem_core::store::Backend;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{both_backends, Server, Tenant};
use crate::streams::joined_session;
use crate::ws::{chunk_frame, chunk_frames, encode, Socket};

/// A session joined by a device, with the device's stream and one agent's stream open.
pub(crate) async fn streams(server: &Server, t: &Tenant) -> (Socket, Socket, String) {
    let (s, device) = joined_session(server, t).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let mut dev = Socket::device_stream(server, t, &device, &id).await;
    let mut agent = Socket::agent_stream(server, &t.admin, &id).await;
    for sock in [&mut dev, &mut agent] {
        sock.send("probe", json!({"timestamp": 1})).await;
        sock.until("alive", |_| true).await;
    }
    (dev, agent, id)
}

/// An rrweb full snapshot of about `size` bytes.
fn snapshot(size: usize) -> Value {
    json!({"type": 2, "data": {"node": {"text": "x".repeat(size)}}, "timestamp": 1})
}

/// Sends `data` as `event` in chunk frames (frame ids from 1000); returns how many.
async fn send_chunked(sock: &mut Socket, event: &str, series: u64, data: &Value) -> u64 {
    let frames = chunk_frames(event, series, data, Some(1000));
    let of = frames.len() as u64;
    for frame in frames {
        sock.send_raw(Message::Binary(frame.into())).await;
    }
    of
}

/// Reads `of` chunk frames and joins them into the event they carry.
async fn receive_chunked(sock: &mut Socket, of: u64) -> Value {
    let mut joined = Vec::new();
    for seq in 0..of {
        let c = sock.until("chunk", |_| true).await;
        assert_eq!(
            (c["seq"].as_u64(), c["of"].as_u64()),
            (Some(seq), Some(of)),
            "in order"
        );
        joined.extend(
            c["bytes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().unwrap() as u8),
        );
    }
    let v: Cbor = ciborium::from_reader(&joined[..]).unwrap();
    serde_json::to_value(v).unwrap()
}

both_backends!(a_large_snapshot_arrives_in_chunks_live_and_for_late_agents);

async fn a_large_snapshot_arrives_in_chunks_live_and_for_late_agents(backend: Backend) {
    // The defaults: 64 KiB messages, as `make run` has them.
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let (mut dev, mut agent, id) = streams(&server, &t).await;
    let meta =
        json!({"type": 4, "data": {"href": "https://shop.example/", "width": 1024, "height": 768}});
    let page = snapshot(300_000);
    dev.send("rrweb", meta.clone()).await;
    let of = send_chunked(&mut dev, "rrweb", 1, &page).await;
    assert!(of >= 9, "{of} chunks");
    // Every chunk is acknowledged; none is refused, and the socket stays open.
    dev.until_any(|f| f["ack"] == 1000 + of - 1).await;

    assert_eq!(agent.until("rrweb", |_| true).await, meta);
    assert_eq!(receive_chunked(&mut agent, of).await, page);

    let mut late = Socket::agent_stream(&server, &t.admin, &id).await;
    late.send("sync", json!({"type": "Sync", "id": "late"}))
        .await;
    assert_eq!(late.until("rrweb", |_| true).await, meta);
    assert_eq!(
        receive_chunked(&mut late, of).await,
        page,
        "caught up from the replay"
    );
    assert!(server.metric("tandem_realtime_chunked_events_total").await >= 1.0);
    server.stop().await;
}

both_backends!(broken_or_oversized_series_are_dropped_and_both_sides_told);

async fn broken_or_oversized_series_are_dropped_and_both_sides_told(backend: Backend) {
    // A process of its own, so that the metrics count this test's frames alone.
    let bound = [("TANDEM_SOCKET_MAX_EVENT_BYTES", "100000".to_owned())];
    let server = Server::spawn_fresh(backend, &bound).await;
    let t = server.tenant().await;
    let (mut dev, mut agent, _) = streams(&server, &t).await;

    // Over the bound on one event: refused once the bound is passed.
    send_chunked(&mut dev, "rrweb", 1, &snapshot(150_000)).await;
    let err = dev.until("error", |_| true).await;
    assert_eq!(err["id"], "event_too_large", "{err}");
    let aborted = agent.until("chunk-aborted", |_| true).await;
    assert_eq!(aborted["id"], "event_too_large");
    assert_eq!(
        aborted["message"],
        "The customer's page is too large to share"
    );

    // Out of order: chunk 1 without chunk 0.
    let frame = chunk_frame(Some(7), "rrweb", 2, 1, 3, b"abc");
    dev.send_raw(Message::Binary(frame.into())).await;
    let err = dev.until("error", |_| true).await;
    assert_eq!(
        (err["id"].as_str(), err["ref"].as_u64()),
        (Some("invalid_chunk"), Some(7))
    );
    assert_eq!(
        agent.until("chunk-aborted", |_| true).await["id"],
        "invalid_chunk"
    );

    // Interrupted by another frame: the series is dropped.
    let frame = chunk_frame(Some(8), "rrweb", 3, 0, 2, b"abc");
    dev.send_raw(Message::Binary(frame.into())).await;
    dev.send("rrweb", json!({"type": 3, "data": {}})).await;
    assert_eq!(
        agent.until("chunk-aborted", |_| true).await["id"],
        "invalid_chunk"
    );

    // Pieces that do not join into one CBOR item.
    for (seq, bytes) in [&[0x82u8, 0x01][..], &[0x02, 0x03][..]]
        .into_iter()
        .enumerate()
    {
        let frame = chunk_frame(Some(20 + seq as u64), "rrweb", 4, seq as u64, 2, bytes);
        dev.send_raw(Message::Binary(frame.into())).await;
    }
    assert_eq!(dev.until("error", |_| true).await["id"], "invalid_chunk");

    // Only recordings and messages travel in chunks, and only from the customer's page.
    let frame = chunk_frame(Some(9), "control", 5, 0, 1, &encode(&json!("click")));
    dev.send_raw(Message::Binary(frame.into())).await;
    assert_eq!(dev.until("error", |_| true).await["id"], "invalid_chunk");
    let frame = chunk_frame(Some(10), "message", 6, 0, 1, &encode(&json!("hi")));
    agent.send_raw(Message::Binary(frame.into())).await;
    assert_eq!(agent.until("error", |_| true).await["id"], "invalid_chunk");
    dev.send("probe", json!({"timestamp": 2})).await;
    let f = dev
        .until_any(|f| f["event"] == "chunk" || f["event"] == "alive")
        .await;
    assert_eq!(
        f["event"], "alive",
        "an agent's chunk reached the page: {f}"
    );

    let dropped = server.metrics_text().await;
    assert!(
        dropped.contains("tandem_realtime_dropped_events_total{reason=\"event_too_large\"} 1"),
        "{dropped}"
    );
    assert!(server.metric("tandem_realtime_dropped_events_total").await >= 4.0);
    server.stop().await;
}

both_backends!(a_snapshot_over_the_replay_bound_is_not_asked_for_again);

async fn a_snapshot_over_the_replay_bound_is_not_asked_for_again(backend: Backend) {
    // A process of its own, so that the metrics count this test's replay alone.
    let bound = [("TANDEM_SESSION_REPLAY_BYTES", "100000".to_owned())];
    let server = Server::spawn_fresh(backend, &bound).await;
    let t = server.tenant().await;
    let (mut dev, mut agent, id) = streams(&server, &t).await;
    dev.send(
        "rrweb",
        json!({"type": 4, "data": {"href": "https://shop.example/"}}),
    )
    .await;
    let page = snapshot(200_000);
    let of = send_chunked(&mut dev, "rrweb", 1, &page).await;
    // The agent watching gets the page all the same.
    assert_eq!(receive_chunked(&mut agent, of).await, page);
    // The page is not asked for a snapshot that could not be kept either (that would repeat
    // for as long as the session lasts).
    dev.send("probe", json!({"timestamp": 3})).await;
    let f = dev
        .until_any(|f| f["event"] == "sync" || f["event"] == "alive")
        .await;
    assert_eq!(f["event"], "alive", "the page was asked again: {f}");
    // A late agent's sync goes to the page, which sends it a new snapshot.
    let mut late = Socket::agent_stream(&server, &t.admin, &id).await;
    late.send("sync", json!({"type": "Sync", "id": "late"}))
        .await;
    assert_eq!(dev.until("sync", |_| true).await["id"], "late");
    assert!(server
        .metrics_text()
        .await
        .contains("tandem_realtime_replay_resets_total{reason=\"snapshot_too_big\"} 1"));
    server.stop().await;
}

both_backends!(an_agent_reading_behind_a_burst_of_chunks_is_not_closed_as_slow);

async fn an_agent_reading_behind_a_burst_of_chunks_is_not_closed_as_slow(backend: Backend) {
    // The defaults: 256 queued frames per socket, 64 KiB messages; a process of its own, so
    // that no other test's slow consumer is counted.
    let server = Server::spawn_fresh(backend, &[]).await;
    let t = server.tenant().await;
    let (mut dev, mut agent, _) = streams(&server, &t).await;
    // 30 MB: some 900 chunks, more than the kernel's buffers and the queue's 256 frames hold
    // together, sent while the agent reads nothing.
    let page = snapshot(30_000_000);
    let of = send_chunked(&mut dev, "rrweb", 1, &page).await;
    assert!(of > 256, "{of} chunks");
    // And the page's next changes, small events queued behind the chunks.
    for n in 0..100 {
        dev.send("rrweb", json!({"type": 3, "data": {"n": n}}))
            .await;
    }
    let last = dev.send("probe", json!({"timestamp": 1})).await;
    dev.until_any(|f| f["ack"] == last).await;
    assert_eq!(receive_chunked(&mut agent, of).await, page);
    for n in 0..100 {
        assert_eq!(agent.until("rrweb", |_| true).await["data"]["n"], n);
    }
    assert_eq!(
        server
            .metric("tandem_websocket_slow_consumer_closes_total")
            .await,
        0.0
    );
    server.stop().await;
}
