//! Metric handles, looked up once: the hot paths only touch atomics.

use metrics::{Counter, Gauge, Histogram};

pub struct Meters {
    pub agent_sockets: Gauge,
    pub device_sockets: Gauge,
    pub agent_streams: Gauge,
    pub device_streams: Gauge,
    pub frames_in: Counter,
    pub frames_out: Counter,
    pub bytes_in: Counter,
    pub bytes_out: Counter,
    pub subscriptions: Gauge,
    pub queue_drops: Counter,
    pub auth_failures: Counter,
    pub bad_frames: Counter,
    pub control_refused: Counter,
    pub inactive_refused: Counter,
    pub oversized_closes: Counter,
    pub chunked_events: Counter,
    chunks_too_large: Counter,
    chunks_invalid: Counter,
    page_too_large: Counter,
    page_message_too_big: Counter,
    page_other: Counter,
    /// Compressed recording frames (`rrweb-z`) refused for breaking their rules.
    pub invalid_recordings: Counter,
    viewer_undecodable: Counter,
    viewer_other: Counter,
    pub replay_overflows: Counter,
    /// Recording frames (`rrweb`, `rrweb-z` and their chunks) the customers' pages sent.
    pub recording_frames: Counter,
    /// Client frames refused for using a name only the server sends (`agents`).
    pub reserved_refused: Counter,
    /// Bytes of recording frames kept for late joiners on this replica.
    pub replay_bytes: Gauge,
    pub replay_snapshot_too_big: Counter,
    pub fanout_seconds: Histogram,
    pub bus_lagged: Counter,
}

impl Meters {
    pub fn new() -> Self {
        Self {
            agent_sockets: metrics::gauge!("tandem_websocket_connections", "kind" => "agent"),
            device_sockets: metrics::gauge!("tandem_websocket_connections", "kind" => "device"),
            agent_streams: metrics::gauge!("tandem_websocket_connections", "kind" => "agent_stream"),
            device_streams: metrics::gauge!("tandem_websocket_connections", "kind" => "device_stream"),
            frames_in: metrics::counter!("tandem_websocket_messages_total", "direction" => "in"),
            frames_out: metrics::counter!("tandem_websocket_messages_total", "direction" => "out"),
            bytes_in: metrics::counter!("tandem_websocket_bytes_total", "direction" => "in"),
            bytes_out: metrics::counter!("tandem_websocket_bytes_total", "direction" => "out"),
            subscriptions: metrics::gauge!("tandem_websocket_subscriptions"),
            queue_drops: metrics::counter!("tandem_websocket_slow_consumer_closes_total"),
            auth_failures: metrics::counter!("tandem_websocket_auth_failures_total"),
            bad_frames: metrics::counter!("tandem_websocket_bad_frames_total"),
            control_refused: metrics::counter!("tandem_realtime_control_refused_total"),
            inactive_refused: metrics::counter!("tandem_realtime_inactive_refused_total"),
            oversized_closes: metrics::counter!("tandem_websocket_oversized_closes_total"),
            chunked_events: metrics::counter!("tandem_realtime_chunked_events_total"),
            chunks_too_large: metrics::counter!("tandem_realtime_dropped_events_total", "reason" => "event_too_large"),
            chunks_invalid: metrics::counter!("tandem_realtime_dropped_events_total", "reason" => "invalid_chunk"),
            page_too_large: metrics::counter!("tandem_realtime_page_errors_total", "id" => "event_too_large"),
            page_message_too_big: metrics::counter!("tandem_realtime_page_errors_total", "id" => "message_too_big"),
            page_other: metrics::counter!("tandem_realtime_page_errors_total", "id" => "other"),
            invalid_recordings: metrics::counter!("tandem_realtime_dropped_events_total", "reason" => "invalid_recording"),
            viewer_undecodable: metrics::counter!("tandem_realtime_viewer_errors_total", "id" => "undecodable_recording"),
            viewer_other: metrics::counter!("tandem_realtime_viewer_errors_total", "id" => "other"),
            recording_frames: metrics::counter!("tandem_realtime_recording_frames_total"),
            reserved_refused: metrics::counter!("tandem_realtime_dropped_events_total", "reason" => "reserved_event"),
            replay_bytes: metrics::gauge!("tandem_realtime_replay_bytes"),
            replay_overflows: metrics::counter!("tandem_realtime_replay_resets_total", "reason" => "overflow"),
            replay_snapshot_too_big: metrics::counter!("tandem_realtime_replay_resets_total", "reason" => "snapshot_too_big"),
            fanout_seconds: metrics::histogram!("tandem_realtime_fanout_seconds", "path" => "local"),
            bus_lagged: metrics::counter!("tandem_realtime_bus_lagged_events_total"),
        }
    }
}

impl Meters {
    /// Chunked events dropped, by the error's id (`event_too_large` or `invalid_chunk`).
    pub fn chunk_errors(&self, id: &str) -> &Counter {
        match id {
            "event_too_large" => &self.chunks_too_large,
            _ => &self.chunks_invalid,
        }
    }

    /// What a customer's page reported it could not send, by its id: one of a known few, else
    /// `other` (the page chooses the id; the metric's labels stay bounded).
    pub fn page_errors(&self, id: &str) -> (&'static str, &Counter) {
        match id {
            "event_too_large" => ("event_too_large", &self.page_too_large),
            "message_too_big" => ("message_too_big", &self.page_message_too_big),
            _ => ("other", &self.page_other),
        }
    }
}

impl Meters {
    /// What an agent's viewer reported it could not show, by its id: one of a known few, else
    /// `other` (the viewer chooses the id; the metric's labels stay bounded).
    pub fn viewer_errors(&self, id: &str) -> (&'static str, &Counter) {
        match id {
            "undecodable_recording" => ("undecodable_recording", &self.viewer_undecodable),
            _ => ("other", &self.viewer_other),
        }
    }
}

impl Default for Meters {
    fn default() -> Self {
        Self::new()
    }
}
