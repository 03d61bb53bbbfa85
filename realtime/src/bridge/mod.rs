//! Events across replicas over Redis pub/sub. Each replica delivers its own events locally at
//! once and publishes them on one channel; what other replicas publish is handed to this
//! replica's hub over a channel. When Redis is down, local delivery goes on, the outage shows
//! in `/readyz` and `tandem_redis_up`, and the link comes back by itself. Events published while
//! the link is down are dropped, not replayed late (a late full-resource event would roll
//! subscribers back to an older state).

mod codec;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use metrics::{Counter, Gauge, Histogram};
use tokio::sync::{mpsc, watch};

use crate::topic::{Scoped, Topic};
use codec::Envelope;

const CHANNEL: &str = "tandem:events";
/// Events waiting to be published; beyond this they are dropped (and counted).
const BACKLOG: usize = 65_536;

/// What one replica tells the others.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Crossing {
    /// A frame for the sockets that follow the topic.
    Frame(Topic, Bytes),
    /// A session ended: its stream sockets close.
    SessionEnded(Scoped),
    /// A user's credentials were revoked: the sockets that follow the user close.
    UserRevoked(Scoped),
    /// How many agent streams of a session the replica `replica` holds now (`crate::hub`'s
    /// agents count): sent when one opens or closes there, when asked, and renewed while any
    /// is open.
    Agents {
        session: Scoped,
        replica: [u8; 16],
        count: u32,
    },
    /// A session's device stream opened on the sender: replicas holding agent streams of it
    /// say how many (`Agents`).
    AgentsAsked(Scoped),
}

/// The link's own metrics.
pub(crate) struct Meters {
    up: Gauge,
    errors: Counter,
    dropped: Counter,
    invalid: Counter,
    lag: Histogram,
}

impl Meters {
    /// Registers them: a replica without Redis reports `tandem_redis_up` 0 too.
    pub(crate) fn new() -> Self {
        Meters {
            up: metrics::gauge!("tandem_redis_up"),
            errors: metrics::counter!("tandem_redis_errors_total"),
            dropped: metrics::counter!("tandem_redis_dropped_events_total"),
            invalid: metrics::counter!("tandem_redis_invalid_messages_total"),
            lag: metrics::histogram!("tandem_realtime_fanout_seconds", "path" => "redis"),
        }
    }
}

pub(crate) struct Bridge {
    origin: [u8; 16],
    up: Arc<AtomicBool>,
    outgoing: mpsc::Sender<Bytes>,
    meters: Arc<Meters>,
}

impl Bridge {
    /// Starts the link: what other replicas publish goes to `incoming`, until `stop` turns
    /// true or `incoming`'s receiver is dropped.
    pub(crate) fn start(
        url: String,
        meters: Meters,
        incoming: mpsc::Sender<Crossing>,
        stop: watch::Receiver<bool>,
    ) -> Bridge {
        let (outgoing, rx) = mpsc::channel(BACKLOG);
        let bridge = Bridge {
            origin: *uuid::Uuid::new_v4().as_bytes(),
            up: Arc::new(AtomicBool::new(false)),
            outgoing,
            meters: Arc::new(meters),
        };
        let link = Link {
            url,
            origin: bridge.origin,
            up: bridge.up.clone(),
            meters: bridge.meters.clone(),
            incoming,
        };
        tokio::spawn(link.run(rx, stop));
        bridge
    }

    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    pub(crate) fn publish(&self, crossing: &Crossing) {
        if !self.is_up() {
            self.meters.dropped.increment(1);
            return;
        }
        let message = codec::encode(&self.origin, crossing);
        if self.outgoing.try_send(message).is_err() {
            self.meters.dropped.increment(1);
        }
    }
}

struct Link {
    url: String,
    origin: [u8; 16],
    up: Arc<AtomicBool>,
    meters: Arc<Meters>,
    incoming: mpsc::Sender<Crossing>,
}

impl Link {
    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Release);
        self.meters.up.set(if up { 1.0 } else { 0.0 });
    }

    /// Connects, relays until the link breaks, and starts again after a pause.
    async fn run(self, mut outgoing: mpsc::Receiver<Bytes>, mut stop: watch::Receiver<bool>) {
        let mut pause = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            let result = tokio::select! {
                r = self.relay(&mut outgoing) => r,
                _ = stop.wait_for(|s| *s) => return,
            };
            let Err(error) = result;
            if self.incoming.is_closed() {
                return;
            }
            let was_up = self.up.load(Ordering::Acquire);
            self.set_up(false);
            self.meters.errors.increment(1);
            if was_up {
                tracing::error!(%error, "lost Redis; events stay on this replica until it is back");
            } else {
                tracing::warn!(%error, "cannot reach Redis; retrying");
            }
            // Whatever queued while the link failed is stale by the time it returns.
            while outgoing.try_recv().is_ok() {
                self.meters.dropped.increment(1);
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
        self.set_up(true);
        tracing::info!("connected to Redis: events cross replicas");
        let mut messages = pubsub.into_on_message();
        loop {
            tokio::select! {
                msg = messages.next() => {
                    let Some(msg) = msg else {
                        return Err("the subscription connection closed".into());
                    };
                    self.receive(Bytes::from(msg.get_payload_bytes().to_vec())).await?;
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

    /// Hands what another replica published to the hub; drops (and counts) what it cannot read.
    async fn receive(&self, payload: Bytes) -> Result<(), String> {
        let Some(envelope) = Envelope::open(payload) else {
            self.meters.invalid.increment(1);
            tracing::warn!("ignoring a malformed message on {CHANNEL}");
            return Ok(());
        };
        if envelope.origin == self.origin {
            return Ok(());
        }
        let sent = envelope.sent;
        let Some(crossing) = envelope.crossing() else {
            self.meters.invalid.increment(1);
            tracing::warn!("ignoring a message with an unknown topic on {CHANNEL}");
            return Ok(());
        };
        self.incoming
            .send(crossing)
            .await
            .map_err(|_| "the hub stopped".to_string())?;
        let lag = codec::now_micros().saturating_sub(sent) as f64 / 1e6;
        self.meters.lag.record(lag);
        Ok(())
    }
}
