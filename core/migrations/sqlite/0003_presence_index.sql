-- The reaper looks for presence leases that ran out; only online devices are indexed.
CREATE INDEX devices_presence ON devices (online_until) WHERE online_until > 0;
