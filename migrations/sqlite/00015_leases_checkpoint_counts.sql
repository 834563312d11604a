-- +goose Up
-- leases: named leases with an expiry (state.Leaser), e.g. which process
-- watches a job. A holder renews its lease before expires_at; once it has
-- passed, another holder may take it. Times are INTEGER microseconds since
-- the Unix epoch on this host's clock (the processes sharing a SQLite file
-- share the host). acquired_at is when the current holder took it (kept
-- across renewals).
CREATE TABLE leases (
    name        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

-- checkpoint_counts: each job's checkpoints counted (state.CheckpointCounter),
-- kept by triggers on every write to checkpoints, so that a delta run reads
-- the safety gate's base (active: a user id and enabled) and the report's
-- totals without scanning a million checkpoints. A migration that rebuilds
-- checkpoints (CREATE, copy, DROP, RENAME) drops these triggers with the
-- old table: it must create them again, as it does the indexes.
CREATE TABLE checkpoint_counts (
    job       TEXT    PRIMARY KEY,
    total     INTEGER NOT NULL DEFAULT 0,
    active    INTEGER NOT NULL DEFAULT 0,
    conflicts INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO checkpoint_counts (job, total, active, conflicts)
SELECT job, count(*), coalesce(sum(user_id <> '' AND enabled), 0), coalesce(sum(status = 'conflict'), 0)
  FROM checkpoints GROUP BY job;

-- Each trigger is one statement, and an update touches the counts only
-- when a counted property changes (most re-saves change none): checkpoint
-- writes stay cheap.
-- +goose StatementBegin
CREATE TRIGGER checkpoints_count_insert AFTER INSERT ON checkpoints BEGIN
    INSERT INTO checkpoint_counts (job, total, active, conflicts)
    VALUES (NEW.job, 1, NEW.user_id <> '' AND NEW.enabled, NEW.status = 'conflict')
    ON CONFLICT (job) DO UPDATE
       SET total = total + 1, active = active + excluded.active, conflicts = conflicts + excluded.conflicts;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER checkpoints_count_update AFTER UPDATE ON checkpoints
WHEN OLD.job = NEW.job AND ((OLD.user_id <> '' AND OLD.enabled) <> (NEW.user_id <> '' AND NEW.enabled)
                            OR (OLD.status = 'conflict') <> (NEW.status = 'conflict'))
BEGIN
    UPDATE checkpoint_counts
       SET active = active - (OLD.user_id <> '' AND OLD.enabled) + (NEW.user_id <> '' AND NEW.enabled),
           conflicts = conflicts - (OLD.status = 'conflict') + (NEW.status = 'conflict')
     WHERE job = NEW.job;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER checkpoints_count_move AFTER UPDATE OF job ON checkpoints WHEN OLD.job <> NEW.job BEGIN
    UPDATE checkpoint_counts
       SET total = total - 1, active = active - (OLD.user_id <> '' AND OLD.enabled), conflicts = conflicts - (OLD.status = 'conflict')
     WHERE job = OLD.job;
    INSERT INTO checkpoint_counts (job, total, active, conflicts)
    VALUES (NEW.job, 1, NEW.user_id <> '' AND NEW.enabled, NEW.status = 'conflict')
    ON CONFLICT (job) DO UPDATE
       SET total = total + 1, active = active + excluded.active, conflicts = conflicts + excluded.conflicts;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER checkpoints_count_delete AFTER DELETE ON checkpoints BEGIN
    UPDATE checkpoint_counts
       SET total = total - 1, active = active - (OLD.user_id <> '' AND OLD.enabled), conflicts = conflicts - (OLD.status = 'conflict')
     WHERE job = OLD.job;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER checkpoints_count_delete;
DROP TRIGGER checkpoints_count_move;
DROP TRIGGER checkpoints_count_update;
DROP TRIGGER checkpoints_count_insert;
DROP TABLE checkpoint_counts;
DROP TABLE leases;
