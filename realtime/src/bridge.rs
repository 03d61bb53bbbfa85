//! Events across replicas over Redis pub/sub. Each replica delivers its own events locally at
//! once and publishes them on one channel; every replica delivers what others publish. When Redis
//! is down, local delivery goes on, the outage shows in `/readyz` and `tandem_redis_up`, and the
//! link comes back by itself. Events published while the link is down are dropped, not replayed
//! late (a late full-resource event would roll subscribers back to an older state).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::hub::{Hub, Topic};
use crate::meters::Meters;

const CHANNEL: &str = "tandem:events";
/// Events waiting to be published; beyond this they are dropped (and counted).
const BACKLOG: usize = 65_536;

pub(crate) struct Bridge {
    url: String,
    origin: [u8; 16],
    up: Arc<AtomicBool>,
    tx: mpsc::Sender<Bytes>,
    rx: Mutex<Option<mpsc::Receiver<Bytes>>>,
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// `origin(16) | sent micros(8) | topic length(2) | topic | frame`.
fn encode(origin: &[u8; 16], topic: &str, frame: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(26 + topic.len() + frame.len());
    b.put_slice(origin);
    b.put_u64(now_micros());
    b.put_u16(topic.len() as u16);
    b.put_slice(topic.as_bytes());
    b.put_slice(frame);
    b.freeze()
}

struct Received {
    origin: [u8; 16],
    sent: u64,
    topic: Topic,
    frame: Bytes,
}

fn decode(mut b: Bytes) -> Option<Received> {
    if b.len() < 26 {
        return None;
    }
    let mut origin = [0u8; 16];
    b.copy_to_slice(&mut origin);
    let sent = b.get_u64();
    let len = b.get_u16() as usize;
    if b.len() < len {
        return None;
    }
    let topic = String::from_utf8(b.split_to(len).to_vec()).ok()?;
    Some(Received {
        origin,
        sent,
        topic,
        frame: b,
    })
}

impl Bridge {
    pub(crate) fn new(url: String) -> Self {
        let (tx, rx) = mpsc::channel(BACKLOG);
        Bridge {
            url,
            origin: *uuid::Uuid::new_v4().as_bytes(),
            up: Arc::new(AtomicBool::new(false)),
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }

    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    pub(crate) fn publish(&self, meters: &Meters, topic: Topic, frame: Bytes) {
        if !self.is_up() {
            meters.redis_dropped.increment(1);
            return;
        }
        if self
            .tx
            .try_send(encode(&self.origin, &topic, &frame))
            .is_err()
        {
            meters.redis_dropped.increment(1);
        }
    }

    pub(crate) fn spawn(&self, hub: Arc<Hub>) {
        let rx = self
            .rx
            .lock()
            .expect("bridge lock")
            .take()
            .expect("the bridge starts once");
        let link = Link {
            url: self.url.clone(),
            origin: self.origin,
            up: self.up.clone(),
        };
        tokio::spawn(link.run(hub, rx));
    }
}

struct Link {
    url: String,
    origin: [u8; 16],
    up: Arc<AtomicBool>,
}

impl Link {
    fn set_up(&self, hub: &Hub, up: bool) {
        self.up.store(up, Ordering::Release);
        hub.meters.redis_up.set(if up { 1.0 } else { 0.0 });
    }

    /// Connects, relays until the link breaks, and starts again after a pause.
    async fn run(self, hub: Arc<Hub>, mut outgoing: mpsc::Receiver<Bytes>) {
        let mut stop = hub.stopping();
        let mut pause = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            let result = tokio::select! {
                r = self.relay(&hub, &mut outgoing) => r,
                _ = stop.wait_for(|s| *s) => return,
            };
            let was_up = self.up.load(Ordering::Acquire);
            self.set_up(&hub, false);
            hub.meters.redis_errors.increment(1);
            if was_up {
                tracing::error!(error = %result.unwrap_err(), "lost Redis; events stay on this replica until it is back");
            } else {
                tracing::warn!(error = %result.unwrap_err(), "cannot reach Redis; retrying");
            }
            // Whatever queued while the link failed is stale by the time it returns.
            while outgoing.try_recv().is_ok() {
                hub.meters.redis_dropped.increment(1);
            }
            if started.elapsed() > Duration::from_secs(10) {
                pause = Duration::from_millis(100);
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    async fn relay(
        &self,
        hub: &Hub,
        outgoing: &mut mpsc::Receiver<Bytes>,
    ) -> Result<std::convert::Infallible, String> {
        const TIMEOUT: Duration = Duration::from_secs(3);
        let client = redis::Client::open(self.url.as_str()).map_err(|e| e.to_string())?;
        let connect = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(CHANNEL).await?;
            let conn = client.get_multiplexed_async_connection().await?;
            Ok::<_, redis::RedisError>((pubsub, conn))
        };
        let (pubsub, mut conn) = tokio::time::timeout(TIMEOUT, connect)
            .await
            .map_err(|_| "timed out connecting".to_string())?
            .map_err(|e| e.to_string())?;
        // Drop anything queued before the link was up.
        while outgoing.try_recv().is_ok() {}
        self.set_up(hub, true);
        tracing::info!("connected to Redis: events cross replicas");
        let mut messages = pubsub.into_on_message();
        loop {
            tokio::select! {
                msg = messages.next() => {
                    let Some(msg) = msg else {
                        return Err("the subscription connection closed".into());
                    };
                    let payload = Bytes::from(msg.get_payload_bytes().to_vec());
                    match decode(payload) {
                        Some(r) if r.origin == self.origin => {}
                        Some(r) => {
                            hub.remote(&r.topic, &r.frame);
                            let lag = now_micros().saturating_sub(r.sent) as f64 / 1e6;
                            hub.meters.bridge_seconds.record(lag);
                        }
                        None => tracing::warn!("ignoring a malformed message on {CHANNEL}"),
                    }
                }
                out = outgoing.recv() => {
                    let Some(out) = out else { return Err("the hub stopped".into()) };
                    let mut cmd = redis::cmd("PUBLISH");
                    cmd.arg(CHANNEL).arg(&out[..]);
                    let publish = cmd.query_async::<i64>(&mut conn);
                    match tokio::time::timeout(TIMEOUT, publish).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Err(e.to_string()),
                        Err(_) => return Err("timed out publishing".into()),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let origin = [7u8; 16];
        let r = decode(encode(&origin, "s:a:b", b"\xa1cbor")).unwrap();
        assert_eq!(r.origin, origin);
        assert_eq!(r.topic, "s:a:b");
        assert_eq!(&r.frame[..], b"\xa1cbor");
        assert!(r.sent > 0);
    }

    #[test]
    fn truncated_messages_are_refused() {
        let full = encode(&[1u8; 16], "topic", b"x");
        for cut in [0, 10, 25, 28] {
            assert!(decode(full.slice(..cut)).is_none(), "cut at {cut}");
        }
    }
}
