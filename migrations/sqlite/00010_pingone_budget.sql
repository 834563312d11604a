-- +goose Up
-- pingone_budget: each PingOne environment's request schedule, which every
-- syncd process on this host sharing the file reserves request slots from
-- (sink/pingone/budget): next_at is when the schedule is next free. Times
-- are INTEGER microseconds since the Unix epoch.
CREATE TABLE pingone_budget (
    environment  TEXT    PRIMARY KEY,
    next_at      INTEGER NOT NULL,
    floor_rate   REAL    NOT NULL DEFAULT 0,
    throttled_at INTEGER
) STRICT;

-- +goose Down
DROP TABLE pingone_budget;
