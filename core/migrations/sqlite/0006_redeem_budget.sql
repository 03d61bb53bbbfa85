-- Attempts at redeeming a 6-digit code or 9-digit token, per agent, device or account, in fixed
-- windows. Kept in the database so every replica draws on one budget.
CREATE TABLE redeem_budget (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL
);
CREATE INDEX redeem_budget_by_window ON redeem_budget (window_start);
