//! How many agents watch a session: the device's stream hears `agents {count}` when it opens and
//! whenever the count changes, so the customer's page records only while someone watches.
//!
//! Each replica counts its own agent streams per session. A replica holding a session's device
//! stream adds what the others announce (`Crossing::Agents`: each replica's own count, replaced
//! by its next announcement and forgotten `ANNOUNCED_FOR` after it unless renewed), and asks
//! them to announce when the device's stream opens (`Crossing::AgentsAsked`). Replicas renew
//! their announcements every `RENEW` while they hold agent streams, so a lost message or a
//! replica that died costs at most `ANNOUNCED_FOR` of a wrong count.
//!
//! Every change is worked out and delivered under one lock, so the device hears the counts in
//! the order they happened, and the one it hears at open is never older than what follows.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{until_stopped, Hub};
use crate::bridge::Crossing;
use crate::frame;
use crate::peer::Peer;
use crate::topic::{Scoped, Side, Topic};
use crate::wire;

/// The server's event that tells the device's stream how many agent streams its session has.
/// Clients may not send it (`socket::dispatch` refuses it): only the server says it.
pub const AGENTS: &str = "agents";

/// How often a replica repeats the counts of its agent streams to the others.
const RENEW: Duration = Duration::from_secs(10);

/// How long another replica's count holds without being renewed.
const ANNOUNCED_FOR: Duration = Duration::from_secs(3 * RENEW.as_secs());

/// One session's agents, as a replica holding its device stream sees them.
#[derive(Default)]
struct Watched {
    /// Device streams of the session on this replica (two while a page reloads).
    devices: usize,
    /// What other replicas announced: their count, and until when it holds.
    remote: HashMap<[u8; 16], (u32, Instant)>,
    /// The count the device was last told.
    told: usize,
}

#[derive(Default)]
pub(crate) struct Agents {
    /// This replica's agent streams, per session.
    local: HashMap<Scoped, usize>,
    /// The sessions whose device stream is on this replica.
    watched: HashMap<Scoped, Watched>,
}

impl Agents {
    fn total(&self, session: &Scoped, now: Instant) -> usize {
        let local = self.local.get(session).copied().unwrap_or(0);
        let remote: usize = self.watched.get(session).map_or(0, |w| {
            w.remote
                .values()
                .filter(|(_, until)| *until > now)
                .map(|(n, _)| *n as usize)
                .sum()
        });
        local + remote
    }
}

/// The `agents` event, framed.
fn agents_frame(count: usize) -> Bytes {
    wire::binary(&frame::event(
        AGENTS,
        &serde_json::json!({ "count": count }),
    ))
}

impl Hub {
    /// An agent's stream of `session` opened on this replica (after joining its topic, so the
    /// page's recording, started by the count it hears, reaches it).
    pub(crate) fn agent_stream_opened(&self, session: &Scoped) {
        self.agents_changed(session, 1);
    }

    pub(crate) fn agent_stream_closed(&self, session: &Scoped) {
        self.agents_changed(session, -1);
    }

    fn agents_changed(&self, session: &Scoped, by: isize) {
        let mut agents = self.agents.lock().expect("agents lock");
        let n = agents.local.entry(session.clone()).or_insert(0);
        *n = n.saturating_add_signed(by);
        let count = *n;
        if count == 0 {
            agents.local.remove(session);
        }
        self.tell_device(&mut agents, session, Instant::now());
        drop(agents);
        self.publish(Crossing::Agents {
            session: session.clone(),
            replica: self.replica,
            count: count as u32,
        });
    }

    /// A device's stream of `session` opened on this replica and follows its topic: it hears
    /// how many agents the session has (`peer` gets it at once); the other replicas are asked
    /// for theirs. Returns the count it heard.
    pub(crate) fn device_stream_opened(&self, session: &Scoped, peer: &Peer) -> usize {
        let mut agents = self.agents.lock().expect("agents lock");
        let count = agents.total(session, Instant::now());
        let watched = agents.watched.entry(session.clone()).or_default();
        watched.devices += 1;
        watched.told = count;
        peer.push(agents_frame(count));
        drop(agents);
        self.meters.frames_out.increment(1);
        self.publish(Crossing::AgentsAsked(session.clone()));
        count
    }

    pub(crate) fn device_stream_closed(&self, session: &Scoped) {
        let mut agents = self.agents.lock().expect("agents lock");
        if let Some(watched) = agents.watched.get_mut(session) {
            watched.devices = watched.devices.saturating_sub(1);
            if watched.devices == 0 {
                agents.watched.remove(session);
            }
        }
    }

    /// Another replica's count of its agent streams of `session`: kept if the session's device
    /// stream is here.
    pub(super) fn agents_announced(&self, session: &Scoped, replica: [u8; 16], count: u32) {
        let mut agents = self.agents.lock().expect("agents lock");
        let now = Instant::now();
        let Some(watched) = agents.watched.get_mut(session) else {
            return;
        };
        if count == 0 {
            watched.remote.remove(&replica);
        } else {
            watched.remote.insert(replica, (count, now + ANNOUNCED_FOR));
        }
        self.tell_device(&mut agents, session, now);
    }

    /// Another replica's device stream of `session` opened: this replica says how many agent
    /// streams of it it holds, if any.
    pub(super) fn agents_asked(&self, session: &Scoped) {
        let count = self
            .agents
            .lock()
            .expect("agents lock")
            .local
            .get(session)
            .copied();
        if let Some(count) = count {
            self.publish(Crossing::Agents {
                session: session.clone(),
                replica: self.replica,
                count: count as u32,
            });
        }
    }

    /// Tells the device's stream of `session` on this replica its count, if it changed.
    fn tell_device(&self, agents: &mut Agents, session: &Scoped, now: Instant) {
        let count = agents.total(session, now);
        let Some(watched) = agents.watched.get_mut(session) else {
            return;
        };
        if watched.told == count {
            return;
        }
        watched.told = count;
        self.deliver(
            &Topic::Stream(session.clone(), Side::Device),
            &agents_frame(count),
        );
    }

    /// Renews this replica's announcements, and forgets the others' that were not renewed
    /// (telling the devices here what that changed). Runs with Redis only.
    pub(super) async fn renew_agents(self: Arc<Self>) {
        let mut stop = self.stopping();
        let mut tick = tokio::time::interval(RENEW);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while until_stopped(&mut stop, tick.tick()).await.is_some() {
            let mut agents = self.agents.lock().expect("agents lock");
            let now = Instant::now();
            let held: Vec<(Scoped, usize)> =
                agents.local.iter().map(|(s, n)| (s.clone(), *n)).collect();
            let mut lapsed = Vec::new();
            for (session, watched) in &mut agents.watched {
                let before = watched.remote.len();
                watched.remote.retain(|_, (_, until)| *until > now);
                if watched.remote.len() != before {
                    lapsed.push(session.clone());
                }
            }
            for session in lapsed {
                self.tell_device(&mut agents, &session, now);
            }
            drop(agents);
            for (session, count) in held {
                self.publish(Crossing::Agents {
                    session,
                    replica: self.replica,
                    count: count as u32,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_counts_add_up_until_they_lapse() {
        let mut agents = Agents::default();
        let s = Scoped::new("acct", "s1");
        let now = Instant::now();
        agents.local.insert(s.clone(), 1);
        let mut watched = Watched::default();
        watched.remote.insert([1; 16], (2, now + ANNOUNCED_FOR));
        watched
            .remote
            .insert([2; 16], (5, now - Duration::from_secs(1)));
        agents.watched.insert(s.clone(), watched);
        assert_eq!(agents.total(&s, now), 3, "a lapsed count does not count");
        assert_eq!(agents.total(&Scoped::new("acct", "s2"), now), 0);
        assert_eq!(agents.total(&s, now + ANNOUNCED_FOR), 1);
    }
}
