-- +goose Up
-- held_disables: disables the watch's safety gate held (a batch whose
-- disables, with those of the window before it, would exceed the job's
-- thresholds has all of them held, never trickled). Only a run with
-- --allow-mass-disable applies them.
CREATE TABLE held_disables (
    job      text        NOT NULL,
    anchor   text        NOT NULL CHECK (anchor <> ''),
    user_id  text        NOT NULL DEFAULT '',
    username text        NOT NULL DEFAULT '',
    reason   text        NOT NULL DEFAULT '',
    gate     text        NOT NULL DEFAULT '',
    run_id   bigint      NOT NULL DEFAULT 0,
    held_at  timestamptz NOT NULL,
    PRIMARY KEY (job, anchor)
);
-- The watch gate counts a job's recent writes by operation.
CREATE INDEX journal_job_op_at_idx ON journal (job, op, at);

-- +goose Down
DROP INDEX journal_job_op_at_idx;
DROP TABLE held_disables;
