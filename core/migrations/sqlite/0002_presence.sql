-- Presence: a device is online while some replica holds its notification socket and keeps
-- pushing this forward (microseconds; 0 = offline).
ALTER TABLE devices ADD COLUMN online_until INTEGER NOT NULL DEFAULT 0;
