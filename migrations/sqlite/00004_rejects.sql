-- +goose Up
-- rejects: each job's standing rejects, one per record (by anchor, or by
-- position for a record without one), kept until a run accepts the record
-- again: every run exits 4 while any stands.
CREATE TABLE rejects (
    job        TEXT NOT NULL,
    key        TEXT NOT NULL CHECK (key <> ''),
    anchor     TEXT NOT NULL DEFAULT '',
    pos        TEXT NOT NULL DEFAULT '',
    attribute  TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (job, key)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE rejects;
