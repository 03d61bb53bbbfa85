//! A session stream's frames: what one end sends goes to the other byte for byte; the device's
//! recording is kept on this replica, so an agent who joins late catches up from it; and the
//! gates: nothing passes before the customer accepts, control only while they allow it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_core::model::SessionState;

use super::conn::Conn;
use super::identity::Stream;
use super::Failure;
use crate::frame::{self, ClientFrame};
use crate::replay::{Kept, Kinds, Replay};
use crate::topic::{Side, Topic};
use crate::wire;
use crate::zipped::{self, MOVES, ZIPPED};

/// How often a device's stream whose session is not active yet may have it read again: frames
/// in between are refused without asking the Store (a page may record before anyone accepts).
/// An agent's stream reads it for each frame until it is active: an agent sends a few frames,
/// and acts the moment its viewer hears the session is active, which may be within this window
/// of an earlier refusal.
const ACTIVE_RECHECK: Duration = Duration::from_millis(250);

impl Conn {
    /// Passes a frame to the other end of the session, byte for byte, and keeps the device's
    /// recording (plain `rrweb` events and compressed `rrweb-z` batches) for agents who join
    /// late. A compressed batch that breaks its rules (`crate::zipped`) is refused, not relayed.
    pub(super) fn relay(
        &self,
        stream: &Stream,
        f: &ClientFrame<'_>,
        raw: &[u8],
    ) -> Result<(), Failure> {
        let kinds = match f.event {
            "rrweb" => Some(Kinds::of_event(f.raw_data())),
            ZIPPED | MOVES => match zipped::read_event(f.event, f.raw_data()) {
                Ok(kinds) => Some(kinds),
                Err(e) => {
                    self.hub.meters.invalid_recordings.increment(1);
                    return Err((e.id(), e.to_string()));
                }
            },
            _ => None,
        };
        let topic = Topic::Stream(stream.session.clone(), stream.side.other());
        let framed = wire::binary(raw);
        if kinds.is_some() && stream.side == Side::Device {
            self.hub.meters.recording_frames.increment(1);
        }
        match kinds {
            Some(kinds) => self.relay_recording(topic, framed, |replay, frame, max| {
                replay.record(kinds, frame, max)
            }),
            None => self.forward(topic, framed),
        }
        self.hub.service().touch(&stream.session.id);
        Ok(())
    }

    /// Relays a recording frame of the device's to the agents and, on the replica keeping the
    /// session's replay, records it there with `keep(replay, frame, bound)`: kept and relayed
    /// under one lock, so a newcomer's catch-up and the live frames after it neither overlap nor
    /// leave a gap.
    pub(super) fn relay_recording(
        &self,
        topic: Topic,
        framed: Bytes,
        keep: impl FnOnce(&mut Replay, &Bytes, usize) -> Kept,
    ) {
        let Some(replay) = &self.replay else {
            return self.forward(topic, framed);
        };
        let mut replay = replay.lock().expect("replay lock");
        let kept = keep(&mut replay, &framed, self.hub.limits().replay_bytes);
        self.forward(topic, framed);
        drop(replay);
        self.kept(kept);
    }

    /// Acts on what the replay did with a recorded event.
    pub(super) fn kept(&self, kept: Kept) {
        match kept {
            Kept::Yes | Kept::No => {}
            Kept::Overflowed => {
                // Too much since the last snapshot: ask the page for a new one.
                self.hub.meters.replay_overflows.increment(1);
                self.reply(frame::event(
                    "sync",
                    &serde_json::json!({"type": "Sync", "id": "replay"}),
                ));
            }
            Kept::SnapshotTooBig => {
                // A new snapshot would not fit either: agents who join later get one from the
                // page itself.
                self.hub.meters.replay_snapshot_too_big.increment(1);
                tracing::info!(
                    socket = self.id,
                    "a page's snapshot is over session_replay_bytes; late joiners ask the page"
                );
            }
        }
    }

    /// The customer's page stopped recording: its replay goes (`Replay::stopped`).
    pub(super) fn recording_stopped(&self) {
        if let Some(replay) = &self.replay {
            replay.lock().expect("replay lock").stopped();
        }
    }

    /// Whether this stream's session is `active`: read from the Store until it is (on a
    /// device's stream at most every `ACTIVE_RECHECK`), then kept.
    pub(super) async fn stream_active(&mut self) -> bool {
        let Some(stream) = &self.who.stream else {
            return false;
        };
        if self.active {
            return true;
        }
        if stream.side == Side::Device
            && self
                .active_checked
                .is_some_and(|t| t.elapsed() < ACTIVE_RECHECK)
        {
            return false;
        }
        self.active_checked = Some(std::time::Instant::now());
        let service = self.hub.service();
        match service
            .stream_session(&self.who.account_id, &stream.session.id)
            .await
        {
            Ok(s) => self.active = s.state == SessionState::Active,
            Err(e) => tracing::warn!(error = %e, "could not read a session's state"),
        }
        self.active
    }

    /// Whether the customer lets this control frame through now (the service decides; a
    /// failure to read keeps control closed).
    pub(super) async fn control_allowed(&self, session_id: &str) -> bool {
        let service = self.hub.service();
        match service
            .control_allowed(&self.who.account_id, session_id)
            .await
        {
            Ok(allowed) => allowed,
            Err(e) => {
                tracing::warn!(error = %e, "could not read a session's remote control state");
                false
            }
        }
    }

    /// An agent's stream opened with `catch_up=1`: answered as if its first frame were a `sync`,
    /// so the page (the relay's replay of it, or a fresh snapshot) is on its way before the
    /// agent's page has run its script (the viewer's page opens its stream from its head).
    pub(super) async fn sync_on_open(&mut self) {
        if !matches!(&self.who.stream, Some(s) if s.side == Side::Agent) {
            return;
        }
        let sync = frame::event("sync", &serde_json::json!({"type": "Sync", "id": "open"}));
        if let Ok(f) = ClientFrame::decode(&sync) {
            self.handle(f, &sync).await;
        }
    }

    /// Serves an agent's `sync` from this replica's replay of the session, if it has a complete
    /// one: the snapshot and everything since go to this agent alone (none of it if the agent
    /// had it all live), and the customer's page is not disturbed; nor is it while the page's
    /// first snapshot is still to come on a stream that has just opened with agents. Otherwise
    /// the `sync` goes to the device, which sends a new snapshot.
    /// `joined`: when the agent's stream began to follow the session, on its first `sync`.
    pub(super) fn catch_up(&self, stream: &Stream, joined: Option<Instant>) -> bool {
        let Some(replay) = self.hub.replay(&stream.session) else {
            return false;
        };
        let replay = replay.lock().expect("replay lock");
        // The agent's first `sync` (its viewer's, on opening): if the page's recording started
        // after the agent came (its coming started it), the agent had all of it live.
        if joined.is_some_and(|joined| replay.live_since(joined)) {
            return true;
        }
        let caught_up = match replay.frames() {
            Some(mut frames) => match frames.next() {
                Some(first) => {
                    self.peer.push_backlog(std::iter::once(first).chain(frames));
                    true
                }
                None => false,
            },
            None => false,
        };
        // The page's stream has just opened and its first snapshot is on the way: this agent
        // gets it live.
        caught_up || replay.first_snapshot_pending()
    }
}
