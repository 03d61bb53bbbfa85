-- Each session_filters row carries its session's filter signature (core/src/store/signature.rs:
-- one bit per key=value pair of the session's custom data), covered by the list index, so a list
-- with several filters passes over the driving filter's rows that cannot match the others without
-- probing them. Rows written before this keep 0, "not known", and are always probed, as every row
-- was before: filling them in here would rewrite the whole table in one transaction and leave its
-- pages unfit for index-only scans until a VACUUM. A session's rows get their signature the next
-- time its custom data is written.
ALTER TABLE session_filters ADD COLUMN sig BIGINT NOT NULL DEFAULT 0;

DROP INDEX session_filters_page;
CREATE INDEX session_filters_page
    ON session_filters (account_id, key, value, sort_at DESC, session_id DESC) INCLUDE (sig);
