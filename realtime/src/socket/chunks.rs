//! A device's events too big for one frame arrive in numbered chunks (`crate::chunk`): each
//! is relayed to the agents as it comes and kept in the replay; a broken series is dropped, and
//! the agents and the operator hear why.

use super::conn::Conn;
use super::Failure;
use crate::chunk::{Chunk, ChunkError, Progress};
use crate::frame::{self, ClientFrame};
use crate::topic::{Side, Topic};
use crate::wire;
use crate::zipped::{MOVES, ZIPPED};

impl Conn {
    /// Relays one chunk of a device's event to the agents, as it comes, and keeps it in the
    /// session's replay; checks the series (`crate::chunk`) and drops it when it breaks a rule.
    pub(super) fn relay_chunk(&mut self, f: &ClientFrame, raw: &[u8]) -> Result<(), Failure> {
        let Some(stream) = &self.who.stream else {
            return Ok(());
        };
        let limits = self.hub.limits();
        let data = f.data();
        let progress = Chunk::parse(&data).and_then(|chunk| {
            let progress = self.assembly.push(&chunk, limits.max_event_bytes)?;
            Ok((matches!(chunk.event, "rrweb" | ZIPPED | MOVES), progress))
        });
        let (rrweb, progress) = match progress {
            Ok(p) => p,
            Err(e) => {
                self.chunks_failed(&e);
                return Err((e.id(), e.to_string()));
            }
        };
        match progress {
            Progress::Skipped => return Ok(()),
            Progress::Complete(_) => self.hub.meters.chunked_events.increment(1),
            Progress::Partial { .. } => {}
        }
        let topic = Topic::Stream(stream.session.clone(), Side::Agent);
        let framed = wire::binary(raw);
        if rrweb {
            self.hub.meters.recording_frames.increment(1);
            self.relay_recording(topic, framed, |replay, frame, max| {
                if let Progress::Partial { restarted: true } = progress {
                    replay.abandon();
                }
                let kept = replay.chunk(frame, max);
                match &progress {
                    Progress::Complete(c) => replay.complete(c.kinds, max),
                    _ => kept,
                }
            });
        } else {
            self.hub.relay(topic, framed);
        }
        self.hub.service().touch(&stream.session.id);
        Ok(())
    }

    /// A chunked event was dropped: the agents drop what they have of it and hear why; the
    /// operator sees it in the log and in `/metrics`.
    pub(super) fn chunks_failed(&self, e: &ChunkError) {
        let Some(stream) = &self.who.stream else {
            return;
        };
        if let Some(replay) = &self.replay {
            replay.lock().expect("replay lock").abandon();
        }
        self.hub.meters.chunk_errors(e.id()).increment(1);
        tracing::warn!(
            socket = self.id,
            account_id = %self.who.account_id,
            session_id = %stream.session.id,
            error = %e,
            "dropped a chunked event"
        );
        let message = match e {
            ChunkError::TooLarge { .. } => "The customer's page is too large to share",
            _ => "Part of the customer's page was lost on the way",
        };
        let topic = Topic::Stream(stream.session.clone(), Side::Agent);
        let notice = frame::event(
            "chunk-aborted",
            &serde_json::json!({"id": e.id(), "message": message}),
        );
        self.hub.relay(topic, wire::binary(&notice));
    }

    /// The customer's page could not send something (a snapshot over the bound on one event,
    /// say): it tells the agents itself (this frame is relayed to them); the operator sees it
    /// here, in the log and in `/metrics`.
    pub(super) fn page_failed(&self, f: &ClientFrame<'_>) {
        let id = f.data_text("id").unwrap_or("");
        let (id, counter) = self.hub.meters.page_errors(id);
        counter.increment(1);
        tracing::warn!(
            socket = self.id,
            account_id = %self.who.account_id,
            error = id,
            "the customer's page could not send part of the session"
        );
    }

    /// An agent's viewer could not show part of the page (a compressed batch that did not
    /// decompress, say): the operator sees it in the log and in `/metrics`; the viewer has told
    /// the agent, and asks the page for all of it again.
    pub(super) fn viewer_failed(&self, f: &ClientFrame<'_>) {
        let (id, counter) = self
            .hub
            .meters
            .viewer_errors(f.data_text("id").unwrap_or(""));
        counter.increment(1);
        tracing::warn!(
            socket = self.id,
            account_id = %self.who.account_id,
            error = id,
            "an agent's viewer could not show part of the customer's page"
        );
    }
}
