//! The sending side of one socket: a bounded queue of framed messages that the socket's own task
//! writes out, as many per system call as have gathered by the time it runs. Delivering is
//! cheap and never waits (the fan-out loop only queues and wakes), the writes of a large fan-out
//! spread over every worker thread, and under load frames leave in batches. When a reader falls
//! so far behind that the queue is full, the socket is marked overflowed and its task closes it.
//! Large frames (the chunks of a page's snapshot, hundreds of them in a burst) are bounded by
//! the bytes they hold rather than by their number.
//!
//! A session stream's frames go another way: the socket that relays them queues a batch of
//! them without waking anyone, then writes each receiver's share itself, one call per receiver
//! (`push_quiet`, `flush_or_wake`), so a relayed frame costs no wake-up and no task switch;
//! only when the kernel cannot take it all is the receiver's task woken to finish.

use std::collections::VecDeque;
use std::io;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::trace::{Pending, Trace};

pub struct Peer {
    stream: TcpStream,
    out: Mutex<Out>,
    wake: Notify,
    limit: usize,
    bulk: Bulk,
}

/// How large frames are bounded: frames of at least `min_frame` bytes do not count against the
/// frame limit; they may queue while the queue holds at most `max_bytes`.
#[derive(Debug, Clone, Copy)]
pub struct Bulk {
    pub min_frame: usize,
    pub max_bytes: usize,
}

#[derive(Default)]
struct Out {
    queue: VecDeque<Bytes>,
    /// The bytes the queue holds, and how many of its frames are large (`Bulk`).
    bytes: usize,
    large: usize,
    /// How much of the front frame is already written.
    offset: usize,
    overflow: bool,
    broken: bool,
    /// Set when the server ends the socket from outside its task (its session ended, say).
    closing: Option<(u16, &'static str)>,
    /// A sampled frame in the queue, timed until it is written (`crate::trace`); boxed, so an
    /// idle socket carries one pointer for it.
    traced: Option<Box<Pending>>,
}

impl Peer {
    pub fn new(stream: TcpStream, limit: usize, bulk: Bulk) -> Self {
        Peer {
            stream,
            out: Mutex::new(Out::default()),
            wake: Notify::new(),
            limit,
            bulk,
        }
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends a frame, or queues it behind earlier ones. Returns false when the socket is broken
    /// or overflowed (it is then being closed).
    pub fn push(&self, frame: Bytes) -> bool {
        self.enqueue(frame, true, None, true)
    }

    /// `push`, timing a sampled frame until it is written.
    pub fn push_traced(&self, frame: Bytes, trace: Option<Trace>) -> bool {
        self.enqueue(frame, true, trace, true)
    }

    /// `push_traced` without waking the socket's task: the caller queues a batch of frames and
    /// then calls [`Peer::flush_or_wake`] once (a relayed stream's frames, read together).
    pub fn push_quiet(&self, frame: Bytes, trace: Option<Trace>) -> bool {
        self.enqueue(frame, true, trace, false)
    }

    /// Writes what is queued from the caller's task, in one call; when the kernel cannot take it
    /// all (or the socket broke), wakes the socket's own task to carry on.
    pub fn flush_or_wake(&self) {
        if !matches!(self.flush(), Ok(true)) {
            self.wake.notify_one();
        }
    }

    /// Queues a catch-up backlog (a session's replay) regardless of the queue's bound; it is
    /// bounded by the replay's own size.
    pub fn push_backlog<'a>(&self, frames: impl Iterator<Item = &'a Bytes>) {
        for frame in frames {
            if !self.enqueue(frame.clone(), false, None, true) {
                return;
            }
        }
    }

    /// Queues a last frame (a close) even when the queue is full.
    pub fn push_final(&self, frame: Bytes) {
        let mut out = self.out.lock().expect("peer lock");
        out.overflow = false;
        drop(out);
        self.enqueue(frame, false, None, true);
    }

    fn enqueue(&self, frame: Bytes, bounded: bool, trace: Option<Trace>, wake: bool) -> bool {
        let mut out = self.out.lock().expect("peer lock");
        if out.broken || out.overflow {
            return false;
        }
        let large = frame.len() >= self.bulk.min_frame;
        let full = if large {
            out.bytes + frame.len() > self.bulk.max_bytes
        } else {
            out.queue.len() - out.large >= self.limit
        };
        if bounded && full {
            out.overflow = true;
            drop(out);
            self.wake.notify_one();
            return false;
        }
        let first = out.queue.is_empty();
        if let Some(trace) = trace {
            out.traced = Some(Box::new(Pending {
                at: frame.as_ptr() as usize,
                trace,
                queued: std::time::Instant::now(),
            }));
        }
        out.bytes += frame.len();
        out.large += usize::from(large);
        out.queue.push_back(frame);
        drop(out);
        if first && wake {
            // The socket's task writes everything queued by the time it runs, in one call.
            self.wake.notify_one();
        }
        true
    }

    /// Waits until the socket's task has something to do: finish writes, or close.
    pub async fn notified(&self) {
        self.wake.notified().await
    }

    pub fn overflowed(&self) -> bool {
        self.out.lock().expect("peer lock").overflow
    }

    /// Asks the socket's task to close the socket with this code.
    pub fn close_with(&self, code: u16, reason: &'static str) {
        self.out.lock().expect("peer lock").closing = Some((code, reason));
        self.wake.notify_one();
    }

    pub fn closing(&self) -> Option<(u16, &'static str)> {
        self.out.lock().expect("peer lock").closing
    }

    /// Writes queued frames, several per system call, until the queue is empty (`Ok(true)`) or
    /// the kernel is full (`Ok(false)`).
    pub fn flush(&self) -> io::Result<bool> {
        const BATCH: usize = 64;
        let mut out = self.out.lock().expect("peer lock");
        if out.broken {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        while !out.queue.is_empty() {
            let written = {
                let mut slices = [io::IoSlice::new(&[]); BATCH];
                let mut n = 0;
                for (i, frame) in out.queue.iter().take(BATCH).enumerate() {
                    let from = if i == 0 { out.offset } else { 0 };
                    slices[i] = io::IoSlice::new(&frame[from..]);
                    n += 1;
                }
                self.stream.try_write_vectored(&slices[..n])
            };
            match written {
                Ok(mut n) => {
                    while n > 0 {
                        let left = out.queue[0].len() - out.offset;
                        if n >= left {
                            n -= left;
                            if let Some(done) = out.queue.pop_front() {
                                out.bytes -= done.len();
                                out.large -= usize::from(done.len() >= self.bulk.min_frame);
                                if out
                                    .traced
                                    .as_ref()
                                    .is_some_and(|t| t.at == done.as_ptr() as usize)
                                {
                                    if let Some(t) = out.traced.take() {
                                        t.written(std::time::Instant::now());
                                    }
                                }
                            }
                            out.offset = 0;
                        } else {
                            out.offset += n;
                            n = 0;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => {
                    out.broken = true;
                    return Err(e);
                }
            }
        }
        if out.queue.capacity() > 64 {
            out.queue = VecDeque::new();
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use futures_util::FutureExt;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::trace::Trace;

    /// A peer on one end of a loopback connection, and the client's end.
    async fn pair() -> (Peer, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let bulk = Bulk {
            min_frame: 1 << 20,
            max_bytes: 1 << 22,
        };
        (Peer::new(accepted.unwrap().0, 8, bulk), client.unwrap())
    }

    async fn read_exactly(client: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut got = vec![0; n];
        client.read_exact(&mut got).await.unwrap();
        got
    }

    #[tokio::test]
    async fn a_push_wakes_the_sockets_task() {
        let (peer, _client) = pair().await;
        assert!(peer.push(Bytes::from_static(b"one")));
        assert!(peer.notified().now_or_never().is_some());
    }

    #[tokio::test]
    async fn a_quiet_batch_wakes_nobody_and_leaves_in_order_when_flushed() {
        let (peer, mut client) = pair().await;
        let trace = Trace {
            read: Instant::now(),
            decoded: Instant::now(),
            routed: Some(Instant::now()),
        };
        assert!(peer.push_quiet(Bytes::from_static(b"one,"), None));
        assert!(peer.push_quiet(Bytes::from_static(b"two,"), Some(trace)));
        assert!(peer.push_quiet(Bytes::from_static(b"three"), None));
        assert!(
            peer.notified().now_or_never().is_none(),
            "queued quietly: the socket's task is not woken"
        );
        assert!(peer.out.lock().unwrap().traced.is_some());
        peer.flush_or_wake();
        assert!(
            peer.notified().now_or_never().is_none(),
            "the kernel took it all: nothing left for the socket's task"
        );
        assert_eq!(read_exactly(&mut client, 13).await, b"one,two,three");
        let out = peer.out.lock().unwrap();
        assert!(out.queue.is_empty());
        assert!(out.traced.is_none(), "the traced frame was seen leaving");
    }

    #[tokio::test]
    async fn a_quiet_push_still_overflows_and_wakes_the_task_to_close() {
        let (peer, _client) = pair().await;
        for _ in 0..8 {
            assert!(peer.push_quiet(Bytes::from_static(b"x"), None));
        }
        assert!(!peer.push_quiet(Bytes::from_static(b"x"), None));
        assert!(peer.overflowed());
        assert!(peer.notified().now_or_never().is_some());
    }
}
