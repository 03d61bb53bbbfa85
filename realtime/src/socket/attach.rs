//! A socket's kind, and a session stream's socket joining its session: it follows the
//! session's changes and its own end of the stream; an agent's is counted for the device's
//! stream (`agents`), and a device's hears that count and keeps the session's replay here.

use metrics::Gauge;

use super::conn::Conn;
use crate::topic::{Side, Topic};

impl Conn {
    /// The gauge of open sockets of this one's kind.
    pub(super) fn gauge(&self) -> Gauge {
        let meters = &self.hub.meters;
        match (&self.who.device_id, &self.who.stream) {
            (_, Some(stream)) => match stream.side {
                Side::Agent => meters.agent_streams.clone(),
                Side::Device => meters.device_streams.clone(),
            },
            (None, None) => meters.agent_sockets.clone(),
            (Some(_), None) => meters.device_sockets.clone(),
        }
    }

    /// Joins a stream socket to its session (nothing for other sockets).
    pub(super) fn attach_stream(&mut self) {
        let Some(stream) = &self.who.stream else {
            return;
        };
        let session = stream.session.clone();
        let side = stream.side;
        self.join(Topic::Session(session.clone()));
        self.join(Topic::Stream(session.clone(), side));
        match side {
            Side::Agent => {
                // After the join, so the page's recording that the count starts reaches it.
                self.stream_joined = Some(std::time::Instant::now());
                self.hub.agent_stream_opened(&session);
            }
            Side::Device => {
                let agents = self.hub.device_stream_opened(&session, &self.peer);
                self.replay = Some(self.hub.replay_open(&session, agents));
            }
        }
    }

    /// The stream socket has left its topics (`Hub::close`): its session hears.
    pub(super) fn detach_stream(&self) {
        let Some(stream) = &self.who.stream else {
            return;
        };
        match (stream.side, &self.replay) {
            (Side::Agent, _) => self.hub.agent_stream_closed(&stream.session),
            (Side::Device, replay) => {
                if let Some(replay) = replay {
                    self.hub.replay_close(&stream.session, replay);
                }
                self.hub.device_stream_closed(&stream.session);
            }
        }
    }
}
