-- +goose Up
-- journal: every write syncd made to PingOne, in the transaction of the
-- checkpoint that records its result (DESIGN invariant 12). before/after are
-- JSON objects of the values the write changed (text, not jsonb: handed back
-- as written); pruned with the runs after state.journal_retention.
CREATE TABLE journal (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id         bigint      NOT NULL,
    job            text        NOT NULL,
    anchor         text        NOT NULL,
    user_id        text        NOT NULL DEFAULT '',
    group_id       text        NOT NULL DEFAULT '',
    op             text        NOT NULL,
    before         text,
    after          text,
    status         integer     NOT NULL DEFAULT 0,
    correlation_id text        NOT NULL DEFAULT '',
    error          text        NOT NULL DEFAULT '',
    at             timestamptz NOT NULL
);
CREATE INDEX journal_run_idx ON journal (run_id, id);
CREATE INDEX journal_job_anchor_idx ON journal (job, anchor, id);
CREATE INDEX journal_at_idx ON journal (at);

-- +goose Down
DROP TABLE journal;
