-- +goose Up
-- pingone_budget: each PingOne environment's request budget, a token bucket
-- every syncd process on this host sharing the file draws from
-- (sink/pingone/budget). Times are INTEGER microseconds since the Unix epoch.
CREATE TABLE pingone_budget (
    environment  TEXT    PRIMARY KEY,
    tokens       REAL    NOT NULL,
    updated_at   INTEGER NOT NULL,
    floor_rate   REAL    NOT NULL DEFAULT 0,
    throttled_at INTEGER
) STRICT;

-- +goose Down
DROP TABLE pingone_budget;
