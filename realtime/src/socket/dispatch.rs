//! What each client event does: answered here (`ping`, `probe`, `subscribe`, ...), or, on a
//! session stream, passed to the other end behind the consent and control gates.

use super::conn::Conn;
use super::{CHUNK, CONTROL, RECORDING_STOPPED, VIEWER_ERROR};
use crate::chunk::ChunkError;
use crate::frame::{self, ClientFrame};
use crate::hub::AGENTS;
use crate::topic::Side;

impl Conn {
    /// Answers one client frame: an `ack` when it had an id and succeeded, an `error` (with
    /// `ref` = its id) when it failed. On a session stream, events the server does not handle
    /// itself go to the other side of the session, byte for byte (a device's `page` is also
    /// written to the session's history).
    pub(super) async fn handle(&mut self, f: ClientFrame<'_>, raw: &[u8]) {
        let passed_on = !matches!(f.event, "ping" | "subscribe" | "sync-presence" | "probe");
        if !passed_on || !self.active || matches!(f.event, "page" | CONTROL) {
            // What follows may wait (on the Store): frames relayed before it leave first.
            self.flush_batch();
        }
        // Only an agent's first `sync` may be one it needs nothing for (`catch_up`).
        let joined = (f.event == "sync")
            .then(|| self.stream_joined.take())
            .flatten();
        if passed_on && self.who.stream.is_some() && !self.stream_active().await {
            // Nothing crosses between the customer and the agent before the customer accepts.
            self.hub.meters.inactive_refused.increment(1);
            let message =
                "the session is not active: nothing is passed on until the customer accepts";
            self.reply(frame::error("session_not_active", message, f.id));
            return;
        }
        let device_stream = matches!(&self.who.stream, Some(s) if s.side == Side::Device);
        if f.event == "page" && device_stream {
            self.record_page(&f).await;
        }
        if f.event == "stream-error" && device_stream {
            self.page_failed(&f);
        }
        if f.event != CHUNK && self.assembly.in_flight().is_some() {
            // A chunked event is sent in one go; anything in between means it was given up.
            self.assembly.drop_series();
            self.chunks_failed(&ChunkError::Interrupted);
        }
        let done = match (f.event, &self.who.stream) {
            // Only the server says how many agents watch: a client's would be a forgery.
            (AGENTS, _) => {
                self.hub.meters.reserved_refused.increment(1);
                Err((
                    "reserved_event",
                    format!("{AGENTS} is the server's event; clients may not send it"),
                ))
            }
            ("ping", stream) => {
                // The customer's page is still there: its session is not idle, though a page
                // nobody watches sends no recording (the web SDK pings its stream every 30 s).
                // An agent's pings do not count: a session the customer left ends.
                if let Some(s) = stream.as_ref().filter(|s| s.side == Side::Device) {
                    self.hub.service().touch(&s.session.id);
                }
                Ok(())
            }
            ("subscribe", _) => self.subscribe(&f).await,
            ("sync-presence", _) => self.sync_presence(&f).await,
            ("watch-visitor", None) => self.watch_visitor(&f),
            ("probe", Some(_)) => {
                self.reply(frame::event("alive", &f.data()));
                Ok(())
            }
            ("sync", Some(stream))
                if stream.side == Side::Agent && self.catch_up(stream, joined) =>
            {
                Ok(())
            }
            (CHUNK, Some(_)) if device_stream => self.relay_chunk(&f, raw),
            (RECORDING_STOPPED, Some(_)) if device_stream => {
                self.recording_stopped();
                Ok(())
            }
            (RECORDING_STOPPED, Some(_)) => Err((
                "invalid_event",
                format!("only the customer's page sends {RECORDING_STOPPED}"),
            )),
            // Counted here, not passed on: the page has nothing to do with it.
            (VIEWER_ERROR, Some(stream)) if stream.side == Side::Agent => {
                self.viewer_failed(&f);
                Ok(())
            }
            (CHUNK, Some(_)) => Err((
                "invalid_chunk",
                "only the customer's page sends events in chunks".to_string(),
            )),
            (CONTROL, Some(stream))
                if stream.side == Side::Agent
                    && !self.control_allowed(&stream.session.id).await =>
            {
                self.hub.meters.control_refused.increment(1);
                Err((
                    "remote_control_off",
                    "the customer has not given this session remote control".to_string(),
                ))
            }
            (_, Some(stream)) => self.relay(stream, &f, raw),
            (other, None) => Err(("unknown_event", format!("unknown event {other:?}"))),
        };
        match (done, f.id) {
            (Ok(()), Some(id)) => self.reply(frame::ack(id)),
            (Ok(()), None) => {}
            (Err((id, message)), reply_to) => self.reply(frame::error(id, &message, reply_to)),
        }
    }
}
