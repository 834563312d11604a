-- +goose Up
-- pingone_budget: each PingOne environment's request schedule, which every
-- syncd process using this database reserves request slots from
-- (sink/pingone/budget): next_at is when the schedule is next free. One
-- short transaction per reservation (SELECT ... FOR UPDATE, UPDATE) on the
-- server's clock, so hosts whose clocks disagree still share fairly.
CREATE TABLE pingone_budget (
    environment  text             PRIMARY KEY,
    next_at      timestamptz      NOT NULL,
    floor_rate   double precision NOT NULL DEFAULT 0,
    throttled_at timestamptz
);

-- +goose Down
DROP TABLE pingone_budget;
