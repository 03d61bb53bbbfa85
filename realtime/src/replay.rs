//! What an agent who joins late (or reconnects) needs to see the page at once: the customer's
//! latest full snapshot and every recording event after it, kept by the replica that holds the
//! device's stream. Bounded in bytes; past the bound the copy is dropped and the device is asked
//! for a fresh snapshot instead.

use bytes::Bytes;

/// rrweb's event types that start a new recording of the page.
const META: i128 = 4;

#[derive(Default)]
pub struct Replay {
    frames: Vec<Bytes>,
    bytes: usize,
    /// Whether `frames` starts at a snapshot and is complete since.
    valid: bool,
}

/// What became of a recorded frame.
#[derive(Debug, PartialEq)]
pub enum Kept {
    Yes,
    /// Not part of a complete replay (none started yet, or it was dropped).
    No,
    /// This frame pushed the replay over its bound; it was dropped.
    Overflowed,
}

impl Replay {
    /// Records one framed `rrweb` message of rrweb event type `kind`.
    pub fn record(&mut self, kind: Option<i128>, frame: &Bytes, max_bytes: usize) -> Kept {
        if kind == Some(META) {
            self.frames.clear();
            self.bytes = 0;
            self.valid = true;
        }
        if !self.valid {
            return Kept::No;
        }
        if self.bytes + frame.len() > max_bytes {
            *self = Replay::default();
            return Kept::Overflowed;
        }
        self.bytes += frame.len();
        self.frames.push(frame.clone());
        Kept::Yes
    }

    /// The frames to bring a newcomer up to date, if a complete replay is held.
    pub fn frames(&self) -> Option<&[Bytes]> {
        self.valid.then_some(&self.frames[..])
    }

    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(n: usize) -> Bytes {
        Bytes::from(vec![0u8; n])
    }

    #[test]
    fn keeps_from_the_latest_snapshot() {
        let mut r = Replay::default();
        assert_eq!(
            r.record(Some(3), &f(10), 100),
            Kept::No,
            "nothing before a snapshot"
        );
        assert!(r.frames().is_none());
        assert_eq!(r.record(Some(4), &f(10), 100), Kept::Yes);
        assert_eq!(r.record(Some(2), &f(20), 100), Kept::Yes);
        assert_eq!(r.record(Some(3), &f(5), 100), Kept::Yes);
        assert_eq!(r.frames().unwrap().len(), 3);
        // A new page starts over.
        assert_eq!(r.record(Some(4), &f(1), 100), Kept::Yes);
        assert_eq!((r.frames().unwrap().len(), r.bytes()), (1, 1));
    }

    #[test]
    fn drops_itself_past_its_bound_until_the_next_snapshot() {
        let mut r = Replay::default();
        r.record(Some(4), &f(60), 100);
        assert_eq!(r.record(Some(3), &f(50), 100), Kept::Overflowed);
        assert!(r.frames().is_none());
        assert_eq!(r.bytes(), 0);
        assert_eq!(r.record(Some(3), &f(1), 100), Kept::No);
        assert_eq!(r.record(Some(4), &f(1), 100), Kept::Yes);
    }
}
