-- +goose Up
-- held_disables: disables the watch's safety gate held (a batch whose
-- disables, with those of the window before it, would exceed the job's
-- thresholds has all of them held, never trickled). Only a run with
-- --allow-mass-disable applies them. Times are INTEGER microseconds since
-- the Unix epoch (UTC).
CREATE TABLE held_disables (
    job      TEXT    NOT NULL,
    anchor   TEXT    NOT NULL CHECK (anchor <> ''),
    user_id  TEXT    NOT NULL DEFAULT '',
    username TEXT    NOT NULL DEFAULT '',
    reason   TEXT    NOT NULL DEFAULT '',
    gate     TEXT    NOT NULL DEFAULT '',
    run_id   INTEGER NOT NULL DEFAULT 0,
    held_at  INTEGER NOT NULL,
    PRIMARY KEY (job, anchor)
) STRICT, WITHOUT ROWID;
-- The watch gate counts a job's recent writes by operation.
CREATE INDEX journal_job_op_at_idx ON journal (job, op, at);

-- +goose Down
DROP INDEX journal_job_op_at_idx;
DROP TABLE held_disables;
