-- +goose Up
-- runs: one row per run of one job.
CREATE TABLE runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job         text        NOT NULL,
    mode        text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    status      text        NOT NULL,
    counts      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error       text        NOT NULL DEFAULT ''
);
CREATE INDEX runs_job_started_idx ON runs (job, started_at DESC, id DESC);
CREATE INDEX runs_started_idx ON runs (started_at DESC, id DESC);

-- checkpoints: what syncd last applied for each (job, anchor).
-- attributes is bytea, not jsonb: the store treats it as opaque bytes and
-- must hand back exactly what it was given (jsonb would reorder keys).
CREATE TABLE checkpoints (
    job           text        NOT NULL,
    anchor        text        NOT NULL CHECK (anchor <> ''),
    user_id       text        NOT NULL DEFAULT '',
    username      text        NOT NULL DEFAULT '',
    population_id text        NOT NULL DEFAULT '',
    enabled       boolean     NOT NULL DEFAULT false,
    hash          text        NOT NULL DEFAULT '',
    attributes    bytea,
    first_seen    timestamptz,
    last_seen     timestamptz,
    last_synced   timestamptz,
    status        text        NOT NULL CHECK (status IN ('active', 'disabled', 'failed', 'conflict')),
    last_error    text        NOT NULL DEFAULT '',
    failures      integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    PRIMARY KEY (job, anchor)
);
CREATE INDEX checkpoints_job_status_idx ON checkpoints (job, status);

-- cursors: each job's position in its source.
CREATE TABLE cursors (
    job            text PRIMARY KEY,
    value          bytea,
    last_full_read timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE cursors;
DROP TABLE checkpoints;
DROP TABLE runs;
