//! What an agent who joins late (or reconnects) needs to see the page at once: the customer's
//! latest full snapshot and every recording event after it, kept by the replica that holds the
//! device's stream. Bounded in bytes; past the bound the copy is dropped and the device is asked
//! for a fresh snapshot instead.

use std::time::{Duration, Instant};

use bytes::Bytes;
use metrics::Gauge;

use crate::skim;

/// How long after its stream opens a page's first snapshot is waited for (the web SDK sends
/// one as soon as its stream is open with agents watching).
const FIRST_SNAPSHOT_WAIT: Duration = Duration::from_secs(10);

/// rrweb's event types: the start of a new recording of the page, its full snapshot, and the
/// changes after it.
const META: i64 = 4;
const FULL_SNAPSHOT: i64 = 2;
const INCREMENTAL: i64 = 3;
/// rrweb's incremental sources for pointer movement: MouseMove, TouchMove, Drag.
const POINTER_SOURCES: [i64; 3] = [1, 6, 12];

/// What a recorded event (or a compressed batch of them, `crate::zipped`) means to the replay.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Kinds {
    /// It starts a new recording of the page (rrweb's Meta): the replay starts over with it.
    pub new_page: bool,
    /// It holds the page's full snapshot.
    pub snapshot: bool,
    /// It is one plain event of pointer movement, whose positions are absolute: a newcomer
    /// needs only the latest, so it replaces the one kept before it.
    pub pointer: bool,
}

impl Kinds {
    /// One plain rrweb event of type `rrweb_type`.
    pub fn of(rrweb_type: Option<i64>) -> Self {
        Kinds {
            new_page: rrweb_type == Some(META),
            snapshot: rrweb_type == Some(FULL_SNAPSHOT),
            pointer: false,
        }
    }

    /// One plain rrweb event, from its CBOR bytes (already strict): its type, and for an
    /// incremental event whether its source is pointer movement.
    pub fn of_event(event: &[u8]) -> Self {
        // One pass over the event's keys (this runs for every plain event relayed).
        let entries = skim::entries(event).unwrap_or_default();
        let value = |key: &str| entries.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let rrweb_type = value("type").and_then(skim::int);
        let pointer = rrweb_type == Some(INCREMENTAL)
            && value("data")
                .and_then(|data| skim::map_int(data, "source"))
                .is_some_and(|source| POINTER_SOURCES.contains(&source));
        Kinds {
            pointer,
            ..Kinds::of(rrweb_type)
        }
    }
}

/// The bytes of frames a replay holds, told to the replica's gauge as they change (and given
/// back when the replay goes), so an operator sees what late joiners' copies cost.
#[derive(Default)]
struct Held {
    bytes: usize,
    gauge: Option<Gauge>,
}

impl Held {
    fn add(&mut self, n: usize) {
        self.bytes += n;
        if let Some(g) = &self.gauge {
            g.increment(n as f64);
        }
    }

    fn sub(&mut self, n: usize) {
        self.bytes -= n;
        if let Some(g) = &self.gauge {
            g.decrement(n as f64);
        }
    }

    fn set(&mut self, n: usize) {
        let now = self.bytes;
        if n >= now {
            self.add(n - now);
        } else {
            self.sub(now - n);
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.set(0);
    }
}

#[derive(Default)]
pub struct Replay {
    frames: Vec<Bytes>,
    /// The frames of a chunked event still arriving (`crate::chunk`).
    partial: Vec<Bytes>,
    held: Held,
    /// Whether `frames` starts at a snapshot and is complete since.
    valid: bool,
    /// Whether the page's full snapshot is among `frames`.
    snapshot: bool,
    /// Where in `frames` the latest pointer movement is (`Kinds::pointer`).
    pointer: Option<usize>,
    /// Whether the chunked event in flight lost its first chunks to a reset.
    torn: bool,
    /// When the device's stream opened with agents watching, until it sends its first
    /// recording event.
    opened: Option<Instant>,
    /// When the first frame of the event in `partial` came.
    partial_at: Option<Instant>,
    /// When the first frame of `frames` came: an agent who followed the stream before then
    /// had all of them live.
    started: Option<Instant>,
}

/// What became of a recorded frame.
#[derive(Debug, PartialEq)]
pub enum Kept {
    Yes,
    /// Not part of a complete replay (none started yet, or it was dropped).
    No,
    /// This frame pushed the replay past its bound after the snapshot; it was dropped, and a
    /// fresh snapshot would fit again.
    Overflowed,
    /// The page's snapshot alone is over the bound: nothing is kept until the next one, and
    /// asking for another would only repeat this.
    SnapshotTooBig,
}

impl Replay {
    /// The replay of a device's stream that has just opened; what it holds is added to `gauge`.
    /// With `agents` watching, the page sends its first snapshot at once (older pages send it
    /// whether or not they are).
    pub fn opened(gauge: Gauge, agents: bool) -> Self {
        Replay {
            opened: agents.then(Instant::now),
            held: Held {
                bytes: 0,
                gauge: Some(gauge),
            },
            ..Replay::default()
        }
    }

    /// Whether the page's first snapshot is still to come on a stream that opened moments
    /// ago with agents watching: an agent asking to catch up will get it live, and asking the
    /// page for another would only send it twice. (A page whose stream opened with no agent
    /// records nothing until one comes: an agent's `sync` then goes to the page.)
    pub fn first_snapshot_pending(&self) -> bool {
        self.opened
            .is_some_and(|at| at.elapsed() < FIRST_SNAPSHOT_WAIT)
    }

    /// Records one framed recording message (`rrweb`, or a compressed `rrweb-z` batch) of
    /// `kinds`.
    pub fn record(&mut self, kinds: Kinds, frame: &Bytes, max_bytes: usize) -> Kept {
        self.opened = None;
        self.hold(frame);
        self.complete(kinds, max_bytes)
    }

    /// Records one chunk of an `rrweb` event still arriving; its kind is known at the end.
    pub fn chunk(&mut self, frame: &Bytes, max_bytes: usize) -> Kept {
        self.opened = None;
        self.hold(frame);
        self.bound(max_bytes)
    }

    /// Holds a frame of the event in flight (called before the frame is relayed).
    fn hold(&mut self, frame: &Bytes) {
        if self.partial.is_empty() {
            self.partial_at = Some(Instant::now());
        }
        self.partial.push(frame.clone());
        self.held.add(frame.len());
    }

    /// The page stopped recording (no agent watches it any more): what is kept goes, so that
    /// no agent is ever shown the page as it was; the next recording starts a new replay.
    pub fn stopped(&mut self) {
        let mut held = std::mem::take(&mut self.held);
        held.set(0);
        *self = Replay {
            held,
            ..Replay::default()
        };
    }

    /// Whether an agent whose stream followed the session at `joined` had every frame of this
    /// replay live (the page's recording started after it came): it needs none of them again.
    pub fn live_since(&self, joined: Instant) -> bool {
        self.valid && self.started.is_some_and(|started| started > joined)
    }

    /// The chunked event in flight is complete (or, from `record`, the one-frame event): keeps
    /// its frames as one event (or batch) of `kinds`.
    pub fn complete(&mut self, kinds: Kinds, max_bytes: usize) -> Kept {
        if self.torn {
            self.abandon();
            return Kept::No;
        }
        if kinds.new_page {
            let kept: usize = self.partial.iter().map(Bytes::len).sum();
            self.frames.clear();
            self.held.set(kept);
            self.valid = true;
            self.snapshot = false;
            self.pointer = None;
            self.started = self.partial_at;
        }
        if !self.valid {
            self.abandon();
            return Kept::No;
        }
        let kept = self.bound(max_bytes);
        self.torn = false;
        if kept == Kept::Yes {
            if kinds.pointer {
                if let Some(before) = self.pointer.take() {
                    let gone = self.frames.remove(before);
                    self.held.sub(gone.len());
                }
                self.pointer = Some(self.frames.len());
            }
            self.frames.append(&mut self.partial);
            self.partial_at = None;
            self.snapshot |= kinds.snapshot;
        }
        kept
    }

    /// A chunked event will not complete (its series was dropped or replaced).
    pub fn abandon(&mut self) {
        self.partial_at = None;
        let dropped: usize = self.partial.drain(..).map(|f| f.len()).sum();
        self.held.sub(dropped);
        self.torn = false;
    }

    fn bound(&mut self, max_bytes: usize) -> Kept {
        if self.held.bytes <= max_bytes {
            return if self.valid { Kept::Yes } else { Kept::No };
        }
        let valid = self.valid;
        let snapshot = self.snapshot;
        let mut held = std::mem::take(&mut self.held);
        held.set(0);
        *self = Replay {
            torn: true,
            held,
            ..Replay::default()
        };
        match (valid, snapshot) {
            (false, _) => Kept::No,
            (true, true) => Kept::Overflowed,
            (true, false) => Kept::SnapshotTooBig,
        }
    }

    /// The frames to bring a newcomer up to date, if a complete replay is held: the events
    /// since the snapshot and the chunks of one still arriving.
    pub fn frames(&self) -> Option<impl Iterator<Item = &Bytes>> {
        self.valid
            .then(|| self.frames.iter().chain(self.partial.iter()))
    }

    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.held.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(n: usize) -> Bytes {
        Bytes::from(vec![0u8; n])
    }

    fn held(r: &Replay) -> Option<usize> {
        r.frames().map(|f| f.count())
    }

    #[test]
    fn keeps_only_the_latest_pointer_movement() {
        let pointer = Kinds {
            pointer: true,
            ..Kinds::default()
        };
        let mut r = Replay::default();
        r.record(Kinds::of(Some(4)), &f(10), 1000);
        r.record(Kinds::of(Some(2)), &f(100), 1000);
        assert_eq!(r.record(pointer, &f(7), 1000), Kept::Yes);
        r.record(Kinds::of(Some(3)), &f(30), 1000);
        assert_eq!(r.record(pointer, &f(8), 1000), Kept::Yes);
        assert_eq!(r.record(pointer, &f(9), 1000), Kept::Yes);
        // Meta, snapshot, the change, the latest movement, in the order they came.
        let lens: Vec<usize> = r.frames().unwrap().map(Bytes::len).collect();
        assert_eq!(lens, [10, 100, 30, 9]);
        assert_eq!(r.bytes(), 149);
        // A new page forgets where the last one's pointer was.
        r.record(Kinds::of(Some(4)), &f(1), 1000);
        r.record(pointer, &f(2), 1000);
        let lens: Vec<usize> = r.frames().unwrap().map(Bytes::len).collect();
        assert_eq!(lens, [1, 2]);
    }

    #[test]
    fn reads_pointer_movement_from_a_plain_event() {
        use crate::skim::cbor;
        use ciborium::Value;
        let event = |t: i64, source: i64| {
            cbor(&Value::Map(vec![
                (Value::Text("type".into()), Value::Integer(t.into())),
                (
                    Value::Text("data".into()),
                    Value::Map(vec![(
                        Value::Text("source".into()),
                        Value::Integer(source.into()),
                    )]),
                ),
            ]))
        };
        for source in [1, 6, 12] {
            assert!(
                Kinds::of_event(&event(3, source)).pointer,
                "source {source}"
            );
        }
        // A click, a scroll, an input: not movement; nor is a snapshot with a `source`.
        for source in [2, 3, 5] {
            assert!(
                !Kinds::of_event(&event(3, source)).pointer,
                "source {source}"
            );
        }
        assert_eq!(Kinds::of_event(&event(2, 1)), Kinds::of(Some(2)));
    }

    #[test]
    fn keeps_from_the_latest_snapshot() {
        let mut r = Replay::default();
        assert_eq!(
            r.record(Kinds::of(Some(3)), &f(10), 100),
            Kept::No,
            "nothing before a snapshot"
        );
        assert!(r.frames().is_none());
        assert_eq!(r.record(Kinds::of(Some(4)), &f(10), 100), Kept::Yes);
        assert_eq!(r.record(Kinds::of(Some(2)), &f(20), 100), Kept::Yes);
        assert_eq!(r.record(Kinds::of(Some(3)), &f(5), 100), Kept::Yes);
        assert_eq!(held(&r), Some(3));
        // A new page starts over.
        assert_eq!(r.record(Kinds::of(Some(4)), &f(1), 100), Kept::Yes);
        assert_eq!((held(&r), r.bytes()), (Some(1), 1));
    }

    #[test]
    fn a_compressed_batch_that_starts_a_page_starts_the_replay() {
        let mut r = Replay::default();
        let page = Kinds {
            new_page: true,
            snapshot: true,
            ..Kinds::default()
        };
        assert_eq!(r.record(Kinds::default(), &f(10), 100), Kept::No);
        assert_eq!(r.record(page, &f(30), 100), Kept::Yes);
        assert_eq!(r.record(Kinds::default(), &f(5), 100), Kept::Yes);
        assert_eq!((held(&r), r.bytes()), (Some(2), 35));
        // Its snapshot counts: past the bound, the page is asked for a new one.
        assert_eq!(r.record(Kinds::default(), &f(70), 100), Kept::Overflowed);
    }

    #[test]
    fn drops_itself_past_its_bound_until_the_next_snapshot() {
        let mut r = Replay::default();
        r.record(Kinds::of(Some(4)), &f(10), 100);
        r.record(Kinds::of(Some(2)), &f(50), 100);
        assert_eq!(r.record(Kinds::of(Some(3)), &f(50), 100), Kept::Overflowed);
        assert!(r.frames().is_none());
        assert_eq!(r.bytes(), 0);
        assert_eq!(r.record(Kinds::of(Some(3)), &f(1), 100), Kept::No);
        assert_eq!(r.record(Kinds::of(Some(4)), &f(1), 100), Kept::Yes);
    }

    #[test]
    fn a_snapshot_over_the_bound_is_not_asked_for_again() {
        let mut r = Replay::default();
        r.record(Kinds::of(Some(4)), &f(10), 100);
        assert_eq!(
            r.record(Kinds::of(Some(2)), &f(200), 100),
            Kept::SnapshotTooBig
        );
        assert!(r.frames().is_none());
    }

    #[test]
    fn chunks_are_held_and_kept_as_one_event() {
        let mut r = Replay::default();
        r.record(Kinds::of(Some(4)), &f(10), 1000);
        assert_eq!(r.chunk(&f(100), 1000), Kept::Yes);
        assert_eq!(r.chunk(&f(100), 1000), Kept::Yes);
        // A newcomer gets the chunks already here; the rest follow live.
        assert_eq!(held(&r), Some(3));
        assert_eq!(r.complete(Kinds::of(Some(2)), 1000), Kept::Yes);
        assert_eq!((held(&r), r.bytes()), (Some(3), 210));
        r.chunk(&f(100), 1000);
        r.abandon();
        assert_eq!((held(&r), r.bytes()), (Some(3), 210));
    }

    #[test]
    fn a_series_cut_by_a_reset_is_not_kept() {
        let mut r = Replay::default();
        r.record(Kinds::of(Some(4)), &f(10), 100);
        r.record(Kinds::of(Some(2)), &f(50), 100);
        assert_eq!(r.chunk(&f(60), 100), Kept::Overflowed);
        r.chunk(&f(10), 100);
        // Even a page's start is not kept without its first chunks.
        assert_eq!(r.complete(Kinds::of(Some(4)), 100), Kept::No);
        assert!(r.frames().is_none());
        assert_eq!(r.bytes(), 0);
        assert_eq!(r.record(Kinds::of(Some(4)), &f(1), 100), Kept::Yes);
    }

    #[test]
    fn the_gauge_follows_what_is_held_and_gets_it_all_back() {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::Arc;
        let value = Arc::new(AtomicU64::new(0));
        let gauge = || f64::from_bits(value.load(Ordering::Relaxed));
        let mut r = Replay::opened(Gauge::from_arc(value.clone()), true);
        r.record(Kinds::of(Some(4)), &f(10), 100);
        r.record(Kinds::of(Some(2)), &f(50), 100);
        assert_eq!(gauge(), 60.0);
        r.chunk(&f(5), 100);
        r.abandon();
        assert_eq!(gauge(), 60.0);
        // Past the bound the copy goes, and so does its count.
        assert_eq!(r.record(Kinds::of(Some(3)), &f(50), 100), Kept::Overflowed);
        assert_eq!(gauge(), 0.0);
        r.record(Kinds::of(Some(4)), &f(7), 100);
        assert_eq!(gauge(), 7.0);
        drop(r);
        assert_eq!(gauge(), 0.0);
    }

    #[test]
    fn a_fresh_stream_waits_for_its_first_snapshot_only_with_agents() {
        let mut r = Replay::opened(Gauge::noop(), true);
        assert!(r.first_snapshot_pending());
        r.chunk(&f(10), 100);
        assert!(!r.first_snapshot_pending());
        assert!(!Replay::default().first_snapshot_pending());
        // No agent at the open: the page records nothing until one comes, and says so.
        assert!(!Replay::opened(Gauge::noop(), false).first_snapshot_pending());
    }

    #[test]
    fn a_stopped_recording_is_never_served() {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::Arc;
        let value = Arc::new(AtomicU64::new(0));
        let mut r = Replay::opened(Gauge::from_arc(value.clone()), true);
        r.record(Kinds::of(Some(4)), &f(10), 100);
        r.record(Kinds::of(Some(2)), &f(10), 100);
        assert_eq!(held(&r), Some(2));
        r.stopped();
        assert!(r.frames().is_none());
        assert!(!r.first_snapshot_pending());
        assert_eq!(r.bytes(), 0);
        assert_eq!(
            f64::from_bits(value.load(Ordering::Relaxed)),
            0.0,
            "the gauge got it back"
        );
        // What still comes after the stop is not a page to show.
        assert_eq!(r.record(Kinds::of(Some(3)), &f(10), 100), Kept::No);
        assert!(r.frames().is_none());
    }

    #[test]
    fn an_agent_who_came_before_the_recording_had_all_of_it_live() {
        let mut r = Replay::default();
        let before = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        r.chunk(&f(10), 100);
        let during = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        r.complete(Kinds::of(Some(4)), 100);
        r.record(Kinds::of(Some(2)), &f(10), 100);
        assert!(r.live_since(before));
        assert!(
            !r.live_since(during),
            "its first chunk came before this agent"
        );
        let after = Instant::now();
        assert!(!r.live_since(after));
        r.stopped();
        assert!(!r.live_since(before));
    }

    #[test]
    fn a_chunked_page_start_begins_the_replay() {
        let mut r = Replay::default();
        assert_eq!(r.chunk(&f(10), 100), Kept::No);
        assert_eq!(r.chunk(&f(10), 100), Kept::No);
        assert_eq!(r.complete(Kinds::of(Some(4)), 100), Kept::Yes);
        assert_eq!((held(&r), r.bytes()), (Some(2), 20));
    }
}
