//! The hub: which sockets are open, which topics each follows, and delivery of encoded frames to
//! them. Every event is encoded once and the same bytes go to every receiver; each socket has a
//! bounded queue, and a socket whose queue is full is closed rather than allowed to grow.

mod agents;
mod fanout;
mod presence;
mod settings;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tandem_core::service::Service;
use tokio::sync::{mpsc, watch, Notify};

use crate::bridge::{self, Bridge, Crossing};
use crate::meters::Meters;
use crate::peer::Peer;
use crate::replay::Replay;
use crate::topic::{Scoped, Topic};
use crate::trace::{Sampler, Trace};

pub use agents::AGENTS;
pub use settings::{Limits, Settings};

/// What other replicas said, waiting for the hub to act on it.
const INCOMING: usize = 1024;

pub struct Hub {
    service: Arc<Service>,
    settings: Settings,
    topics: RwLock<HashMap<Topic, HashMap<u64, Arc<Peer>>>>,
    next_id: AtomicU64,
    /// Devices with notification sockets on this replica, and how many each has.
    devices: Mutex<HashMap<(String, String), usize>>,
    open: AtomicUsize,
    closed: Notify,
    stop: watch::Sender<bool>,
    bridge: Option<Bridge>,
    /// Replays of the sessions whose device stream is on this replica.
    replays: Mutex<HashMap<Scoped, Arc<Mutex<Replay>>>>,
    /// The sessions' agent streams, counted for their device streams (`agents`).
    agents: Mutex<agents::Agents>,
    /// This replica's id in what it tells the others about its agent streams.
    replica: [u8; 16],
    /// How many revocations this replica has acted on: a socket authenticated before one and
    /// registered after it checks its credential again (see `socket::conn`).
    revocations: AtomicU64,
    pub(crate) meters: Meters,
    /// Which relayed frames are timed stage by stage.
    pub(crate) trace: Sampler,
}

impl Hub {
    /// Starts the hub: it follows the service's bus (and Redis, when configured) and keeps the
    /// presence of its devices fresh.
    pub fn start(service: Arc<Service>, settings: Settings) -> Arc<Hub> {
        let (stop, _) = watch::channel(false);
        let (incoming, remote) = mpsc::channel(INCOMING);
        let bridge_meters = bridge::Meters::new();
        let bridge = settings
            .redis_url
            .clone()
            .map(|url| Bridge::start(url, bridge_meters, incoming, stop.subscribe()));
        let trace = Sampler::new(settings.trace_every);
        let hub = Arc::new(Hub {
            service: service.clone(),
            settings,
            topics: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            devices: Mutex::new(HashMap::new()),
            open: AtomicUsize::new(0),
            closed: Notify::new(),
            stop,
            bridge,
            replays: Mutex::new(HashMap::new()),
            agents: Mutex::new(agents::Agents::default()),
            replica: *uuid::Uuid::new_v4().as_bytes(),
            revocations: AtomicU64::new(0),
            meters: Meters::new(),
            trace,
        });
        tokio::spawn(hub.clone().pump(service.events()));
        tokio::spawn(hub.clone().heartbeat());
        if hub.bridge.is_some() {
            tokio::spawn(hub.clone().follow(remote));
            tokio::spawn(hub.clone().renew_agents());
        }
        hub
    }

    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    /// How many revocations this replica has acted on so far.
    pub(crate) fn revocations(&self) -> u64 {
        self.revocations.load(Ordering::SeqCst)
    }
    pub fn limits(&self) -> &Limits {
        &self.settings.limits
    }
    pub fn public_origin(&self) -> &str {
        &self.settings.public_origin
    }

    /// `None` without Redis; otherwise whether the Redis link is up.
    pub fn redis_up(&self) -> Option<bool> {
        self.bridge.as_ref().map(Bridge::is_up)
    }

    /// A receiver that turns true when the hub is shutting down.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Asks every socket to close (1001, going away) and waits up to `grace` for them to go.
    pub async fn shutdown(&self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            // Register for the wake-up before looking, so a close in between is not missed.
            let closed = self.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            if self.open.load(Ordering::Acquire) == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, closed).await.is_err() {
                tracing::warn!(
                    open = self.open.load(Ordering::Acquire),
                    "sockets still open at the end of the shutdown grace period"
                );
                break;
            }
        }
    }

    /// Registers a new socket; returns its id.
    pub(crate) fn open(&self) -> u64 {
        self.open.fetch_add(1, Ordering::AcqRel);
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Forgets a socket: its topics, and the count of open sockets.
    pub(crate) fn close(&self, id: u64, topics: &[Topic]) {
        self.leave(id, topics);
        self.open.fetch_sub(1, Ordering::AcqRel);
        self.closed.notify_waiters();
    }

    pub(crate) fn join(&self, id: u64, topic: Topic, peer: &Arc<Peer>) {
        let mut topics = self.topics.write().expect("topics lock");
        topics.entry(topic).or_default().insert(id, peer.clone());
        self.meters.subscriptions.increment(1.0);
    }

    fn leave(&self, id: u64, left: &[Topic]) {
        if left.is_empty() {
            return;
        }
        let mut topics = self.topics.write().expect("topics lock");
        for topic in left {
            if let Some(subs) = topics.get_mut(topic) {
                if subs.remove(&id).is_some() {
                    self.meters.subscriptions.decrement(1.0);
                }
                if subs.is_empty() {
                    topics.remove(topic);
                }
            }
        }
    }

    /// Writes `frame` to every socket following `topic` on this replica. Never waits: what a
    /// socket cannot take at once is queued, and a socket whose queue is full is closed.
    pub fn deliver(&self, topic: &Topic, frame: &Bytes) -> usize {
        self.deliver_traced(topic, frame, None, None)
    }

    /// `deliver`, timing a sampled frame (`crate::trace`) until each socket has written it.
    /// With `batch`, the receivers' tasks are not woken: each is added to `batch` (once), for
    /// the caller to flush when its batch of frames is queued (`Peer::flush_or_wake`).
    pub(crate) fn deliver_traced(
        &self,
        topic: &Topic,
        frame: &Bytes,
        trace: Option<Trace>,
        batch: Option<&mut Vec<Arc<Peer>>>,
    ) -> usize {
        let trace = trace.map(|t| Trace {
            routed: Some(std::time::Instant::now()),
            ..t
        });
        let topics = self.topics.read().expect("topics lock");
        let Some(subs) = topics.get(topic) else {
            return 0;
        };
        let sent = match batch {
            None => subs
                .values()
                .filter(|peer| peer.push_traced(frame.clone(), trace))
                .count(),
            Some(batch) => subs
                .values()
                .filter(|peer| {
                    let queued = peer.push_quiet(frame.clone(), trace);
                    if queued && !batch.iter().any(|b| Arc::ptr_eq(b, peer)) {
                        batch.push(Arc::clone(peer));
                    }
                    queued
                })
                .count(),
        };
        self.meters.frames_out.increment(sent as u64);
        self.meters.bytes_out.increment((sent * frame.len()) as u64);
        sent
    }

    /// Closes this replica's sockets that follow `topic`, with this code.
    fn close_followers(&self, topic: &Topic, code: u16, reason: &'static str) {
        let topics = self.topics.read().expect("topics lock");
        for peer in topics.get(topic).into_iter().flat_map(HashMap::values) {
            peer.close_with(code, reason);
        }
    }

    /// Delivers on this replica and, with Redis, on the others.
    pub fn relay(&self, topic: Topic, frame: Bytes) {
        self.deliver(&topic, &frame);
        self.publish(Crossing::Frame(topic, frame));
    }

    /// `relay` of one of a batch of frames a socket read together: the receivers on this
    /// replica are added to `batch` instead of woken (see [`Hub::deliver_traced`]), and a
    /// sampled frame is timed (`crate::trace`).
    pub(crate) fn relay_batched(
        &self,
        topic: Topic,
        frame: Bytes,
        trace: Option<Trace>,
        batch: &mut Vec<Arc<Peer>>,
    ) {
        self.deliver_traced(&topic, &frame, trace, Some(batch));
        self.publish(Crossing::Frame(topic, frame));
    }

    /// Tells the other replicas, when there are any.
    fn publish(&self, crossing: Crossing) {
        if let Some(bridge) = &self.bridge {
            bridge.publish(&crossing);
        }
    }

    /// A device's stream opened, with `agents` agent streams in its session: it keeps the
    /// session's replay here from now on.
    pub(crate) fn replay_open(&self, session: &Scoped, agents: usize) -> Arc<Mutex<Replay>> {
        let gauge = self.meters.replay_bytes.clone();
        let replay = Arc::new(Mutex::new(Replay::opened(gauge, agents > 0)));
        self.replays
            .lock()
            .expect("replays lock")
            .insert(session.clone(), replay.clone());
        replay
    }

    /// The device's stream closed: forget its replay (unless a newer stream replaced it).
    pub(crate) fn replay_close(&self, session: &Scoped, replay: &Arc<Mutex<Replay>>) {
        let mut replays = self.replays.lock().expect("replays lock");
        if replays.get(session).is_some_and(|r| Arc::ptr_eq(r, replay)) {
            replays.remove(session);
        }
    }

    pub(crate) fn replay(&self, session: &Scoped) -> Option<Arc<Mutex<Replay>>> {
        self.replays
            .lock()
            .expect("replays lock")
            .get(session)
            .cloned()
    }
}

/// `next`, unless `stop` turns true first (`None`).
async fn until_stopped<T>(
    stop: &mut watch::Receiver<bool>,
    next: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        value = next => Some(value),
        _ = stop.wait_for(|s| *s) => None,
    }
}
