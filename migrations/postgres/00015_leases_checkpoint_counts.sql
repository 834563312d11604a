-- +goose Up
-- leases: named leases with an expiry (state.Leaser), e.g. which replica
-- watches a job. A holder renews its lease before expires_at; once it has
-- passed, another holder may take it. Times are the server's clock (now()),
-- so replicas whose clocks disagree still agree on who holds a lease.
-- acquired_at is when the current holder took it (kept across renewals).
CREATE TABLE leases (
    name        text        PRIMARY KEY,
    holder      text        NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

-- checkpoint_counts: each job's checkpoints counted (state.CheckpointCounter),
-- kept by triggers on every write to checkpoints, so that a delta run reads
-- the safety gate's base (active: a user id and enabled) and the report's
-- totals without scanning a million checkpoints. Statement-level triggers
-- with transition tables: one aggregate per statement, not per row.
CREATE TABLE checkpoint_counts (
    job       text   PRIMARY KEY,
    total     bigint NOT NULL DEFAULT 0,
    active    bigint NOT NULL DEFAULT 0,
    conflicts bigint NOT NULL DEFAULT 0
);
INSERT INTO checkpoint_counts (job, total, active, conflicts)
SELECT job, count(*), count(*) FILTER (WHERE user_id <> '' AND enabled), count(*) FILTER (WHERE status = 'conflict')
  FROM checkpoints GROUP BY job;

-- +goose StatementBegin
CREATE FUNCTION checkpoint_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE checkpoint_counts c
           SET total = c.total - o.total, active = c.active - o.active, conflicts = c.conflicts - o.conflicts
          FROM (SELECT job, count(*) AS total,
                       count(*) FILTER (WHERE user_id <> '' AND enabled) AS active,
                       count(*) FILTER (WHERE status = 'conflict') AS conflicts
                  FROM old_rows GROUP BY job) o
         WHERE c.job = o.job;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO checkpoint_counts AS c (job, total, active, conflicts)
        SELECT job, count(*), count(*) FILTER (WHERE user_id <> '' AND enabled), count(*) FILTER (WHERE status = 'conflict')
          FROM new_rows GROUP BY job
        ON CONFLICT (job) DO UPDATE
           SET total = c.total + excluded.total, active = c.active + excluded.active, conflicts = c.conflicts + excluded.conflicts;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- An upsert (INSERT ... ON CONFLICT DO UPDATE) fires the INSERT trigger
-- for the rows it inserted and the UPDATE trigger for those it updated.
CREATE TRIGGER checkpoints_count_insert AFTER INSERT ON checkpoints
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION checkpoint_counts_apply();
CREATE TRIGGER checkpoints_count_update AFTER UPDATE ON checkpoints
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION checkpoint_counts_apply();
CREATE TRIGGER checkpoints_count_delete AFTER DELETE ON checkpoints
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION checkpoint_counts_apply();

-- +goose Down
DROP TRIGGER checkpoints_count_delete ON checkpoints;
DROP TRIGGER checkpoints_count_update ON checkpoints;
DROP TRIGGER checkpoints_count_insert ON checkpoints;
DROP FUNCTION checkpoint_counts_apply();
DROP TABLE checkpoint_counts;
DROP TABLE leases;
