//! A page's recording, compressed (`rrweb-z`: `{codec, types, bytes}`, realtime/src/zipped.rs):
//! relayed byte for byte, live and from the replay, without the server decompressing it; next to
//! plain `rrweb` events from older SDKs; refused, with a clear error and a count in `/metrics`,
//! when it breaks its rules. What a viewer cannot decompress it reports, and that is counted too.

use serde_json::{json, Value};
use tandem_core::store::Backend;
use tandem_testkit::zipped::{self, batch, inflate, ZIPPED};
use tokio_tungstenite::tungstenite::Message;

use crate::chunks::streams;
use crate::common::{both_backends, Server};
use crate::ws::{encode, Socket};

/// Text that compresses about as well as a page's (about 2:1), so that a snapshot of `size`
/// characters still needs chunks once compressed.
fn page_text(size: usize) -> String {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"abcdefghijklmnop <>/=\"div span"[(x % 30) as usize])
        })
        .collect()
}

/// The next frame the socket gets whose event is `event`, as its bytes.
async fn raw(sock: &mut Socket, event: &str) -> Vec<u8> {
    sock.until_raw(|f| f["event"] == event).await
}

/// Sends `frame`, whose frame id is `id`, and reads the device's refusal: `invalid_recording`
/// naming it, with `message`.
async fn refused_as_invalid(dev: &mut Socket, frame: Vec<u8>, id: u64, message: &str) {
    dev.send_raw(Message::Binary(frame.into())).await;
    let err = dev.until("error", |_| true).await;
    assert_eq!(
        (err["id"].as_str(), err["ref"].as_u64()),
        (Some("invalid_recording"), Some(id))
    );
    assert_eq!(err["message"], message);
}

both_backends!(compressed_recordings_are_relayed_byte_for_byte_and_kept_compressed);

async fn compressed_recordings_are_relayed_byte_for_byte_and_kept_compressed(backend: Backend) {
    // A process of its own, so that the metrics count this test's frames alone.
    let server = Server::spawn_fresh(backend, &[]).await;
    let t = server.tenant().await;
    let (mut dev, mut agent, id) = streams(&server, &t).await;

    // A new page: its start and its full snapshot in one batch, too big for one message even
    // compressed, so it travels in chunks.
    let meta = json!({"type": 4, "data": {"href": "https://shop.example/", "width": 1024, "height": 768}, "timestamp": 1});
    let snapshot =
        json!({"type": 2, "data": {"node": {"text": page_text(150_000)}}, "timestamp": 2});
    let page = zipped::frames(&batch(&[meta.clone(), snapshot.clone()]), 1, Some(100));
    assert!(page.len() >= 2, "{} frames", page.len());
    for frame in &page {
        dev.send_raw(Message::Binary(frame.clone().into())).await;
    }
    dev.until_any(|f| f["ack"] == 100 + page.len() as u64 - 1)
        .await;
    // Then incremental events, batched; and a plain event, as an older SDK sends them.
    let moves: Vec<Value> = (0..20)
        .map(|i| json!({"type": 3, "data": {"source": 1, "positions": [{"x": i, "y": 2 * i, "id": 9, "timeOffset": 0}]}, "timestamp": 10 + i}))
        .collect();
    let moved = zipped::frame(&batch(&moves), Some(200));
    dev.send_raw(Message::Binary(moved.clone().into())).await;
    assert_eq!(dev.until_any(|f| f.get("ack").is_some()).await["ack"], 200);
    let plain = json!({"type": 3, "data": {"source": 0, "texts": [], "attributes": [], "removes": [], "adds": []}, "timestamp": 40});
    dev.send("rrweb", plain.clone()).await;

    // The agent watching gets every frame as it was sent, and the batches decompress to the
    // events.
    let mut frames = Vec::new();
    for _ in &page {
        frames.push(raw(&mut agent, "chunk").await);
    }
    assert_eq!(frames, page, "the page's chunks, byte for byte");
    let got = raw(&mut agent, ZIPPED).await;
    assert_eq!(got, moved, "the batch, byte for byte");
    let v: ciborium::Value = ciborium::from_reader(&got[..]).unwrap();
    let data = v.as_map().unwrap()[2].1.as_map().unwrap();
    assert_eq!(inflate(data[2].1.as_bytes().unwrap()), moves);
    assert_eq!(agent.until("rrweb", |_| true).await, plain);

    // An agent who joins late is served from the replay, kept as it came: compressed.
    let mut late = Socket::agent_stream(&server, &t.admin, &id).await;
    late.send("sync", json!({"type": "Sync", "id": "late"}))
        .await;
    let mut caught = Vec::new();
    for _ in &page {
        caught.push(raw(&mut late, "chunk").await);
    }
    assert_eq!(caught, page, "the page, from the replay");
    assert_eq!(raw(&mut late, ZIPPED).await, moved);
    assert_eq!(late.until("rrweb", |_| true).await, plain);
    server.stop().await;
}

both_backends!(a_malformed_compressed_recording_is_refused_and_counted);

async fn a_malformed_compressed_recording_is_refused_and_counted(backend: Backend) {
    // A process of its own, so that the metrics count this test's frames alone.
    let server = Server::spawn_fresh(backend, &[]).await;
    let t = server.tenant().await;
    let (mut dev, mut agent, _) = streams(&server, &t).await;
    let cbor = |v: Value| ciborium::Value::serialized(&v).unwrap();

    // A new page in the middle of a batch would leave the replay starting mid-batch.
    let mut late_meta = batch(&[
        json!({"type": 3, "data": {}}),
        json!({"type": 4, "data": {}}),
    ]);
    refused_as_invalid(
        &mut dev,
        zipped::frame(&late_meta, Some(7)),
        7,
        "a new page (rrweb type 4) may only be the first event of an rrweb-z batch",
    )
    .await;
    // A codec the viewer cannot read, and a batch without its types.
    late_meta.as_map_mut().unwrap()[0].1 = cbor(json!("brotli"));
    dev.send_raw(Message::Binary(zipped::frame(&late_meta, Some(8)).into()))
        .await;
    let err = dev.until("error", |_| true).await;
    assert_eq!(err["id"], "invalid_recording");
    assert!(err["message"].as_str().unwrap().contains("brotli"), "{err}");
    let frame = encode(&json!({"event": ZIPPED, "id": 9, "data": {"codec": "gzip", "bytes": [1]}}));
    dev.send_raw(Message::Binary(frame.into())).await;
    assert_eq!(
        dev.until("error", |_| true).await["id"],
        "invalid_recording"
    );
    // None of them reached the agent.
    agent.send("probe", json!({"timestamp": 5})).await;
    let f = agent
        .until_any(|f| f["event"] == ZIPPED || f["event"] == "alive")
        .await;
    assert_eq!(f["event"], "alive", "a refused batch was relayed: {f}");

    // A viewer that cannot decompress a batch says so: counted, and not passed to the page.
    let sent = agent
        .send(
            "viewer-error",
            json!({"id": "undecodable_recording", "message": "could not decompress"}),
        )
        .await;
    // Its own ack (the probe's came too, and may still be waiting to be read).
    agent.until_any(|f| f["ack"] == sent).await;
    dev.send("probe", json!({"timestamp": 6})).await;
    let f = dev
        .until_any(|f| f["event"] == "viewer-error" || f["event"] == "alive")
        .await;
    assert_eq!(
        f["event"], "alive",
        "the viewer's report reached the page: {f}"
    );

    let metrics = server.metrics_text().await;
    assert!(
        metrics.contains("tandem_realtime_dropped_events_total{reason=\"invalid_recording\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tandem_realtime_viewer_errors_total{id=\"undecodable_recording\"} 1"),
        "{metrics}"
    );
    server.stop().await;
}

both_backends!(batches_of_pointer_moves_alone_keep_only_the_latest);

/// `rrweb-p`: a compressed batch of pointer moves alone (as the web SDK sends what its pointer
/// window held). The agent watching gets every one; the replay keeps only the latest, after
/// every `rrweb-z` batch, so a late agent sees the page and where the pointer is now, and what
/// a page keeps does not grow with its customer's mouse. A batch under that name with anything
/// but incremental events is refused. What the replay holds shows in `/metrics`, and goes with
/// the page's stream.
async fn batches_of_pointer_moves_alone_keep_only_the_latest(backend: Backend) {
    // A process of its own, so that the replay gauge counts this test's page alone.
    let server = Server::spawn_fresh(backend, &[]).await;
    let t = server.tenant().await;
    let (mut dev, mut agent, id) = streams(&server, &t).await;
    let moves = |x: i64| {
        let events: Vec<Value> = (0..3)
            .map(|i| json!({"type": 3, "data": {"source": 1, "positions": [{"x": x + i, "y": 5, "id": 9, "timeOffset": 0}]}, "timestamp": x + i}))
            .collect();
        zipped::frame_as(zipped::MOVES, &batch(&events), None)
    };
    let page = zipped::frame(
        &batch(&[
            json!({"type": 4, "data": {"href": "https://shop.example/"}, "timestamp": 1}),
            json!({"type": 2, "data": {"node": {"text": "the page"}}, "timestamp": 2}),
        ]),
        None,
    );
    let changed = zipped::frame(
        &batch(&[
            json!({"type": 3, "data": {"source": 1, "positions": [{"x": 1, "y": 1, "id": 9, "timeOffset": 0}]}, "timestamp": 20}),
            json!({"type": 3, "data": {"source": 0, "texts": [], "attributes": [], "removes": [], "adds": []}, "timestamp": 21}),
        ]),
        None,
    );
    let sent = [
        page.clone(),
        moves(10),
        changed.clone(),
        moves(30),
        moves(50),
    ];
    for frame in &sent {
        dev.send_raw(Message::Binary(frame.clone().into())).await;
    }
    for frame in &sent {
        let event = if frame == &page || frame == &changed {
            ZIPPED
        } else {
            zipped::MOVES
        };
        assert_eq!(&raw(&mut agent, event).await, frame, "live, every one");
    }
    let held = server.metric("tandem_realtime_replay_bytes").await;
    let kept: usize = [&page, &changed, &moves(50)].iter().map(|f| f.len()).sum();
    // Each kept frame is held with its WebSocket header (2 to 4 bytes).
    assert!(
        (kept as f64..=kept as f64 + 12.0).contains(&held),
        "{held} bytes held for {kept} bytes of frames"
    );

    let mut late = Socket::agent_stream(&server, &t.admin, &id).await;
    late.send("sync", json!({"type": "Sync", "id": "late"}))
        .await;
    assert_eq!(raw(&mut late, ZIPPED).await, page);
    assert_eq!(raw(&mut late, ZIPPED).await, changed);
    assert_eq!(raw(&mut late, zipped::MOVES).await, moves(50));
    late.send("probe", json!({"timestamp": 2})).await;
    let next = late
        .until_any(|f| f["event"] == "alive" || f["event"] == zipped::MOVES)
        .await;
    assert_eq!(next["event"], "alive", "an older batch of moves was kept");

    // Under that name, a batch with a click in it is not pointer movement alone.
    let clicked = batch(&[json!({"type": 3, "data": {"source": 2, "type": 2, "id": 9}})]);
    let mut typed = clicked.clone();
    typed.as_map_mut().unwrap()[1].1 = ciborium::Value::Array(vec![5.into()]);
    refused_as_invalid(
        &mut dev,
        zipped::frame_as(zipped::MOVES, &typed, Some(7)),
        7,
        "an rrweb-p batch holds pointer movement only: every one of its types must be 3",
    )
    .await;

    drop(dev);
    let mut left = f64::NAN;
    for _ in 0..50 {
        left = server.metric("tandem_realtime_replay_bytes").await;
        if left == 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0.0, "the replay went with the page's stream");
    server.stop().await;
}
