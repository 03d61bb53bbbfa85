//! Realtime hub: WebSocket subscriptions, presence and session streams (built in a later issue).
