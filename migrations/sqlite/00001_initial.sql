-- +goose Up
-- Times are INTEGER microseconds since the Unix epoch (UTC), NULL for "never";
-- read them with datetime(col / 1000000, 'unixepoch').

-- runs: one row per run of one job.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job         TEXT    NOT NULL,
    mode        TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT    NOT NULL,
    counts      TEXT    NOT NULL DEFAULT '{}',
    error       TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX runs_job_started_idx ON runs (job, started_at DESC, id DESC);
CREATE INDEX runs_started_idx ON runs (started_at DESC, id DESC);

-- checkpoints: what syncd last applied for each (job, anchor).
-- attributes is a BLOB: opaque JSON bytes handed back exactly as given.
CREATE TABLE checkpoints (
    job           TEXT    NOT NULL,
    anchor        TEXT    NOT NULL CHECK (anchor <> ''),
    user_id       TEXT    NOT NULL DEFAULT '',
    username      TEXT    NOT NULL DEFAULT '',
    population_id TEXT    NOT NULL DEFAULT '',
    enabled       INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    hash          TEXT    NOT NULL DEFAULT '',
    attributes    BLOB,
    first_seen    INTEGER,
    last_seen     INTEGER,
    last_synced   INTEGER,
    status        TEXT    NOT NULL CHECK (status IN ('active', 'disabled', 'failed', 'conflict')),
    last_error    TEXT    NOT NULL DEFAULT '',
    failures      INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    PRIMARY KEY (job, anchor)
) STRICT, WITHOUT ROWID;
CREATE INDEX checkpoints_job_status_idx ON checkpoints (job, status);

-- cursors: each job's position in its source.
CREATE TABLE cursors (
    job            TEXT PRIMARY KEY,
    value          BLOB,
    last_full_read INTEGER,
    updated_at     INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE cursors;
DROP TABLE checkpoints;
DROP TABLE runs;
