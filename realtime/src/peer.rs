//! The sending side of one socket. A frame is written straight to the TCP socket by whoever
//! delivers it (the fan-out loop, usually) when nothing is waiting; only what the kernel does not
//! take at once is queued for the socket's own task. The queue is bounded: when a reader falls
//! that far behind, the socket is marked overflowed and its task closes it.

use std::collections::VecDeque;
use std::io;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::Notify;

pub struct Peer {
    stream: TcpStream,
    out: Mutex<Out>,
    wake: Notify,
    limit: usize,
}

#[derive(Default)]
struct Out {
    queue: VecDeque<Bytes>,
    /// How much of the front frame is already written.
    offset: usize,
    overflow: bool,
    broken: bool,
    /// Set when the server ends the socket from outside its task (its session ended, say).
    closing: Option<(u16, &'static str)>,
}

impl Peer {
    pub fn new(stream: TcpStream, limit: usize) -> Self {
        Peer {
            stream,
            out: Mutex::new(Out::default()),
            wake: Notify::new(),
            limit,
        }
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends a frame, or queues it behind earlier ones. Returns false when the socket is broken
    /// or overflowed (it is then being closed).
    pub fn push(&self, frame: Bytes) -> bool {
        self.enqueue(frame, true)
    }

    /// Queues a last frame (a close) even when the queue is full.
    pub fn push_final(&self, frame: Bytes) {
        let mut out = self.out.lock().expect("peer lock");
        out.overflow = false;
        drop(out);
        self.enqueue(frame, false);
    }

    fn enqueue(&self, frame: Bytes, bounded: bool) -> bool {
        let mut out = self.out.lock().expect("peer lock");
        if out.broken || out.overflow {
            return false;
        }
        if out.queue.is_empty() {
            match self.stream.try_write(&frame) {
                Ok(n) if n == frame.len() => return true,
                Ok(n) => out.offset = n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => out.offset = 0,
                Err(_) => {
                    out.broken = true;
                    drop(out);
                    self.wake.notify_one();
                    return false;
                }
            }
            out.queue.push_back(frame);
            drop(out);
            // The socket's task finishes the write once the kernel has room.
            self.wake.notify_one();
            return true;
        }
        if bounded && out.queue.len() >= self.limit {
            out.overflow = true;
            drop(out);
            self.wake.notify_one();
            return false;
        }
        out.queue.push_back(frame);
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

    /// Writes queued frames until the queue is empty (`Ok(true)`) or the kernel is full
    /// (`Ok(false)`).
    pub fn flush(&self) -> io::Result<bool> {
        let mut out = self.out.lock().expect("peer lock");
        if out.broken {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        while let Some(front) = out.queue.front() {
            let offset = out.offset;
            match self.stream.try_write(&front[offset..]) {
                Ok(n) if offset + n == front.len() => {
                    out.queue.pop_front();
                    out.offset = 0;
                }
                Ok(n) => out.offset += n,
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
