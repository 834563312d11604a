-- +goose Up
-- journal: every write syncd made to PingOne, in the transaction of the
-- checkpoint that records its result (DESIGN invariant 12). Times are INTEGER
-- microseconds since the Unix epoch (UTC). before/after are JSON objects of
-- the values the write changed; pruned with the runs after state.journal_retention.
CREATE TABLE journal (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id         INTEGER NOT NULL,
    job            TEXT    NOT NULL,
    anchor         TEXT    NOT NULL,
    user_id        TEXT    NOT NULL DEFAULT '',
    group_id       TEXT    NOT NULL DEFAULT '',
    op             TEXT    NOT NULL,
    before         TEXT,
    after          TEXT,
    status         INTEGER NOT NULL DEFAULT 0,
    correlation_id TEXT    NOT NULL DEFAULT '',
    error          TEXT    NOT NULL DEFAULT '',
    at             INTEGER NOT NULL
) STRICT;
CREATE INDEX journal_run_idx ON journal (run_id, id);
CREATE INDEX journal_job_anchor_idx ON journal (job, anchor, id);
CREATE INDEX journal_at_idx ON journal (at);

-- +goose Down
DROP TABLE journal;
