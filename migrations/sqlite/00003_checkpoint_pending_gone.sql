-- +goose Up
-- Two more checkpoint statuses: 'pending' is a create whose intent was
-- committed before its POST (its outcome is not recorded yet: the next run
-- looks the user up by externalId before creating it again), 'gone' a user
-- deleted in PingOne outside syncd (found by a 404).
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt.
-- NOTE: dropping the old table drops its indexes; every index on
-- checkpoints created by an earlier migration must be created again below.
CREATE TABLE checkpoints_v3 (
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
    status        TEXT    NOT NULL CHECK (status IN ('active', 'disabled', 'failed', 'conflict', 'pending', 'gone')),
    last_error    TEXT    NOT NULL DEFAULT '',
    failures      INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    PRIMARY KEY (job, anchor)
) STRICT, WITHOUT ROWID;
INSERT INTO checkpoints_v3 (job, anchor, user_id, username, population_id, enabled, hash, attributes,
        first_seen, last_seen, last_synced, status, last_error, failures)
    SELECT job, anchor, user_id, username, population_id, enabled, hash, attributes,
        first_seen, last_seen, last_synced, status, last_error, failures FROM checkpoints;
DROP TABLE checkpoints;
ALTER TABLE checkpoints_v3 RENAME TO checkpoints;
CREATE INDEX checkpoints_job_status_idx ON checkpoints (job, status);
CREATE UNIQUE INDEX checkpoints_job_user_idx ON checkpoints (job, user_id) WHERE user_id <> ''; -- 00002

-- +goose Down
CREATE TABLE checkpoints_v1 (
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
INSERT INTO checkpoints_v1 (job, anchor, user_id, username, population_id, enabled, hash, attributes,
        first_seen, last_seen, last_synced, status, last_error, failures)
    SELECT job, anchor, user_id, username, population_id, enabled, hash, attributes,
        first_seen, last_seen, last_synced,
        CASE status WHEN 'pending' THEN 'failed' WHEN 'gone' THEN 'disabled' ELSE status END,
        last_error, failures FROM checkpoints;
DROP TABLE checkpoints;
ALTER TABLE checkpoints_v1 RENAME TO checkpoints;
CREATE INDEX checkpoints_job_status_idx ON checkpoints (job, status);
CREATE UNIQUE INDEX checkpoints_job_user_idx ON checkpoints (job, user_id) WHERE user_id <> ''; -- 00002
