-- +goose Up
-- Two more checkpoint statuses: 'pending' is a create whose intent was
-- committed before its POST (its outcome is not recorded yet: the next run
-- looks the user up by externalId before creating it again), 'gone' a user
-- deleted in PingOne outside syncd (found by a 404).
ALTER TABLE checkpoints DROP CONSTRAINT checkpoints_status_check;
ALTER TABLE checkpoints ADD CONSTRAINT checkpoints_status_check
    CHECK (status IN ('active', 'disabled', 'failed', 'conflict', 'pending', 'gone'));

-- +goose Down
UPDATE checkpoints SET status = 'failed' WHERE status = 'pending';
UPDATE checkpoints SET status = 'disabled' WHERE status = 'gone';
ALTER TABLE checkpoints DROP CONSTRAINT checkpoints_status_check;
ALTER TABLE checkpoints ADD CONSTRAINT checkpoints_status_check
    CHECK (status IN ('active', 'disabled', 'failed', 'conflict'));
