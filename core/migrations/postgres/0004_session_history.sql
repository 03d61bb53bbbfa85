-- What happened in a session, for its history: pages the customer visited, agents joining and
-- leaving. `data` is JSON text.
CREATE TABLE session_events (
    account_id TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL
);
CREATE INDEX session_events_by_session ON session_events (account_id, session_id, at);
