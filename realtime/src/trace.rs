//! Where a relayed frame spends its time on the server, sampled: one frame in
//! `socket_trace_every` (0, the default, traces none) carries timestamps from the read that
//! brought its bytes in, through decoding, routing and queueing, to the write that handed it to
//! the kernel on each receiving socket. Each stage's duration goes to the
//! `tandem_realtime_frame_stage_seconds{stage}` summary (`bench-realtime` prints it next to the
//! client-side latency). Off, a frame costs a comparison of the setting with zero; a socket's
//! writer looks at its one pending trace only when it holds one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use metrics::Histogram;

/// Which frames are traced: one in `every` (0: none).
pub struct Sampler {
    every: u64,
    seen: AtomicU64,
}

impl Sampler {
    pub fn new(every: u64) -> Sampler {
        Sampler {
            every,
            seen: AtomicU64::new(0),
        }
    }

    /// Whether tracing is on at all (then reads are timestamped).
    pub fn on(&self) -> bool {
        self.every > 0
    }

    /// Whether the next frame is traced.
    pub fn sample(&self) -> bool {
        self.every > 0
            && self
                .seen
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(self.every)
    }
}

/// A traced frame's timestamps so far.
#[derive(Debug, Clone, Copy)]
pub struct Trace {
    /// The read that brought the frame's last bytes in returned.
    pub read: Instant,
    /// The frame was parsed from the socket's bytes and decoded (CBOR).
    pub decoded: Instant,
    /// The gates passed and the hub began delivering it.
    pub routed: Option<Instant>,
}

/// A traced frame queued for one socket, waiting for its write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    /// Where the frame's bytes are (every receiver's copy shares them): only compared.
    pub at: usize,
    pub trace: Trace,
    pub queued: Instant,
}

struct Stages {
    decode: Histogram,
    route: Histogram,
    queue: Histogram,
    write: Histogram,
    total: Histogram,
}

fn stages() -> &'static Stages {
    static STAGES: std::sync::OnceLock<Stages> = std::sync::OnceLock::new();
    STAGES.get_or_init(|| {
        let stage = |name: &'static str| {
            metrics::histogram!("tandem_realtime_frame_stage_seconds", "stage" => name)
        };
        Stages {
            decode: stage("decode"),
            route: stage("route"),
            queue: stage("queue"),
            write: stage("write"),
            total: stage("total"),
        }
    })
}

impl Pending {
    /// The frame left in a write that returned at `written`: records each stage.
    pub fn written(&self, written: Instant) {
        let t = &self.trace;
        let routed = t.routed.unwrap_or(t.decoded);
        let s = stages();
        let secs = |from: Instant, to: Instant| to.saturating_duration_since(from).as_secs_f64();
        s.decode.record(secs(t.read, t.decoded));
        s.route.record(secs(t.decoded, routed));
        s.queue.record(secs(routed, self.queued));
        s.write.record(secs(self.queued, written));
        s.total.record(secs(t.read, written));
    }
}
