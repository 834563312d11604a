-- +goose Up
-- pingone_budget: each PingOne environment's request budget, a token bucket
-- every syncd process using this database draws from (sink/pingone/budget).
-- One short transaction per draw: SELECT ... FOR UPDATE, then UPDATE, with
-- the server's clock, so hosts whose clocks disagree still share fairly.
CREATE TABLE pingone_budget (
    environment  text             PRIMARY KEY,
    tokens       double precision NOT NULL,
    updated_at   timestamptz      NOT NULL,
    floor_rate   double precision NOT NULL DEFAULT 0,
    throttled_at timestamptz
);

-- +goose Down
DROP TABLE pingone_budget;
