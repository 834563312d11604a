-- +goose Up
-- Deletes after a grace period (jobs[].deprovision.delete_after): when syncd
-- disabled each user (disabled_at, cleared when it is enabled again) and when
-- it deleted one whose grace period had passed (deleted_at; the checkpoint
-- then has status 'gone' and no user id, so a return to the source creates
-- the user again under the same anchor). INTEGER microseconds since the Unix
-- epoch (UTC), as every time here. No table rebuild: columns are added.
ALTER TABLE checkpoints ADD COLUMN disabled_at INTEGER;
ALTER TABLE checkpoints ADD COLUMN deleted_at INTEGER;
-- Users disabled before this migration: their last write is no earlier than
-- their disable, so the grace period counts from it (never from before).
UPDATE checkpoints SET disabled_at = last_synced
 WHERE status = 'disabled' AND user_id <> '' AND enabled = 0 AND last_synced IS NOT NULL;
-- The candidates for a delete, oldest disable first, without a scan.
CREATE INDEX checkpoints_job_disabled_idx ON checkpoints (job, disabled_at) WHERE disabled_at IS NOT NULL;

-- +goose Down
DROP INDEX checkpoints_job_disabled_idx;
ALTER TABLE checkpoints DROP COLUMN deleted_at;
ALTER TABLE checkpoints DROP COLUMN disabled_at;
