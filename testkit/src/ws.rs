//! A socket client for tests and benchmarks: speaks `/sockets/1/ws` as the SDKs do (CBOR frames, bearer
//! subprotocol) and reads events as JSON values.

use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{Server, Tenant};

/// The raw WebSocket under a [`Socket`], for clients that read frames without decoding them.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Socket {
    pub ws: Ws,
    next_id: u64,
}

/// How a socket ended.
#[derive(Debug, PartialEq)]
pub enum Ended {
    Closed(u16, String),
    Dropped,
}

pub fn ws_url(base: &str, query: &str) -> String {
    format!(
        "{}/sockets/1/ws?{query}",
        base.replacen("http://", "ws://", 1)
    )
}

fn protocols(token: Option<&str>) -> String {
    let mut p = vec!["cbor".to_string()];
    if let Some(t) = token {
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(t);
        p.push(format!("cbio.http.headers.authorization.bearer.{b64}"));
    }
    p.join(", ")
}

/// The result of an upgrade attempt: the socket, or the HTTP status it was refused with.
pub async fn try_connect(
    url: &str,
    token: Option<&str>,
    origin: Option<&str>,
) -> Result<Socket, u16> {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(&protocols(token)).unwrap(),
    );
    if let Some(o) = origin {
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(o).unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, res)) => {
            assert_eq!(
                res.headers()
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok()),
                Some("cbor"),
                "the server must select the cbor subprotocol"
            );
            Ok(Socket { ws, next_id: 1 })
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("connecting to {url}: {e}"),
    }
}

/// The CBOR of `v`, as a frame on the wire.
pub fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).expect("encoding to a Vec");
    out
}

/// How many bytes of an event's CBOR one `chunk` frame carries, as the web SDK splits them (its
/// `CHUNK_BYTES`: the whole frame fits in 32 KiB).
pub const CHUNK: usize = 32 * 1024 - 256;

/// One `chunk` frame as the web SDK writes it: piece `seq` of `of` of an `event`'s CBOR. With an
/// `id` the server acknowledges the frame.
pub fn chunk_frame(
    id: Option<u64>,
    event: &str,
    series: u64,
    seq: u64,
    of: u64,
    bytes: &[u8],
) -> Vec<u8> {
    use ciborium::Value as Cbor;
    let text = |s: &str| Cbor::Text(s.into());
    let data = Cbor::Map(vec![
        (text("event"), text(event)),
        (text("series"), Cbor::Integer(series.into())),
        (text("seq"), Cbor::Integer(seq.into())),
        (text("of"), Cbor::Integer(of.into())),
        (text("bytes"), Cbor::Bytes(bytes.to_vec())),
    ]);
    let mut frame = vec![(text("event"), text("chunk"))];
    if let Some(id) = id {
        frame.push((text("id"), Cbor::Integer(id.into())));
    }
    frame.push((text("data"), data));
    let mut out = Vec::new();
    ciborium::into_writer(&Cbor::Map(frame), &mut out).expect("encoding to a Vec");
    out
}

/// `data` as `event` in [`CHUNK`]-byte pieces: the frames an event bigger than one socket
/// message travels in, with frame ids from `first_id` when given.
pub fn chunk_frames(event: &str, series: u64, data: &Value, first_id: Option<u64>) -> Vec<Vec<u8>> {
    let body = encode(data);
    let parts: Vec<&[u8]> = body.chunks(CHUNK).collect();
    let of = parts.len() as u64;
    parts
        .into_iter()
        .zip(0..)
        .map(|(part, seq)| chunk_frame(first_id.map(|id| id + seq), event, series, seq, of, part))
        .collect()
}

impl Socket {
    /// An agent socket, authenticated with the user's notification token from `/users/me`.
    pub async fn agent(server: &Server, jwt: &str) -> Socket {
        let (_, me) = server.get("/api/1/users/me", jwt).await;
        let token = me["notification_token"]
            .as_str()
            .expect("notification_token");
        let url = ws_url(
            &server.base,
            "X-CobrowsePlatform=agent-sdk&X-CobrowseSDKVersion=test",
        );
        try_connect(&url, Some(token), None)
            .await
            .expect("agent socket")
    }

    /// A device's notification socket; `device` is the registration reply.
    pub async fn device(server: &Server, tenant: &Tenant, device: &Value) -> Socket {
        try_connect(
            &device_url(server, tenant, device),
            device["device_token"].as_str(),
            None,
        )
        .await
        .expect("device socket")
    }

    /// An agent's session stream socket, with a token from `/sessions/:id/tokens`.
    pub async fn agent_stream(server: &Server, jwt: &str, session_id: &str) -> Socket {
        Socket::agent_stream_with(server, jwt, session_id, "").await
    }

    /// An agent's session stream socket whose URL carries `query` (`catch_up=1`, say).
    pub async fn agent_stream_with(
        server: &Server,
        jwt: &str,
        session_id: &str,
        query: &str,
    ) -> Socket {
        let (status, tokens) = server
            .get(&format!("/api/1/sessions/{session_id}/tokens"), jwt)
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{tokens}");
        let token = tokens["stream_token"].as_str().unwrap();
        try_connect(&ws_url(&server.base, query), Some(token), None)
            .await
            .expect("agent stream socket")
    }

    /// The device's end of its session's stream.
    pub async fn device_stream(
        server: &Server,
        tenant: &Tenant,
        device: &Value,
        session_id: &str,
    ) -> Socket {
        let url = format!(
            "{}&X-CobrowseSession={session_id}",
            device_url(server, tenant, device)
        );
        try_connect(&url, device["device_token"].as_str(), None)
            .await
            .expect("device stream socket")
    }

    pub async fn send(&mut self, event: &str, data: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let frame = json!({"event": event, "id": id, "data": data});
        self.ws
            .send(Message::Binary(encode(&frame).into()))
            .await
            .unwrap();
        id
    }

    pub async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.unwrap();
    }

    /// The next CBOR frame as JSON, or how the socket ended.
    pub async fn next(&mut self, secs: u64) -> Result<Value, Ended> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(secs), self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within {secs}s"));
            match msg {
                Some(Ok(Message::Binary(b))) => {
                    let v: ciborium::Value = ciborium::from_reader(&b[..]).unwrap();
                    return Ok(serde_json::to_value(v).unwrap());
                }
                Some(Ok(Message::Close(Some(f)))) => {
                    let code: u16 = f.code.into();
                    return Err(Ended::Closed(code, f.reason.to_string()));
                }
                Some(Ok(Message::Close(None))) => {
                    return Err(Ended::Closed(CloseCode::Status.into(), String::new()))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(Ended::Dropped),
            }
        }
    }

    /// The bytes of the next binary frame whose CBOR matches `pred` (read as JSON), as they
    /// arrived: for checking that the relay passes a frame on byte for byte.
    pub async fn until_raw(&mut self, pred: impl Fn(&Value) -> bool) -> Vec<u8> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("no frame within 10s");
            match msg {
                Some(Ok(Message::Binary(b))) => {
                    let v: ciborium::Value = ciborium::from_reader(&b[..]).unwrap();
                    if pred(&serde_json::to_value(v).unwrap()) {
                        return b.to_vec();
                    }
                }
                Some(Ok(_)) => continue,
                other => panic!("socket ended while waiting for a frame: {other:?}"),
            }
        }
    }

    /// Reads until an event named `event` matching `pred` arrives; returns its data.
    pub async fn until(&mut self, event: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            match self.next(10).await {
                Ok(f) if f["event"] == event && pred(&f["data"]) => return f["data"].clone(),
                Ok(_) => continue,
                Err(e) => panic!("socket ended while waiting for {event}: {e:?}"),
            }
        }
    }

    /// Reads until a whole frame (`{event, data}` or `{ack}`) matches `pred`; returns it.
    pub async fn until_any(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            match self.next(10).await {
                Ok(f) if pred(&f) => return f,
                Ok(_) => continue,
                Err(e) => panic!("socket ended while waiting: {e:?}"),
            }
        }
    }

    /// Sends `subscribe` and waits for its ack; returns the resource pushed before it.
    pub async fn subscribe(&mut self, token: &str) -> Value {
        let id = self.send("subscribe", json!(token)).await;
        let mut current = Value::Null;
        loop {
            let f = self.next(10).await.expect("subscribe ack");
            assert_ne!(f["event"], "error", "subscribe failed: {f}");
            if f["ack"] == id {
                return current;
            }
            current = f["data"].clone();
        }
    }

    /// Reads until the socket closes; returns the close code.
    pub async fn closed(&mut self) -> Ended {
        loop {
            match self.next(10).await {
                Ok(_) => continue,
                Err(e) => return e,
            }
        }
    }
}

pub fn device_url(server: &Server, tenant: &Tenant, device: &Value) -> String {
    ws_url(
        &server.base,
        &format!(
            "X-CobrowseLicense={}&X-CobrowseDevice={}&X-CobrowsePlatform=web",
            tenant.account.license_key,
            device["id"].as_str().unwrap()
        ),
    )
}
