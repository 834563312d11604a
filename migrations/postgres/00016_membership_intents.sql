-- +goose Up
-- memberships.pending: an addition whose POST may have reached PingOne
-- (its intent is recorded before the call, DESIGN invariant 6). The next
-- run sends it again: PingOne answering "already a member" then means
-- syncd added it, not an admin, so it stays removable.
ALTER TABLE memberships ADD COLUMN pending boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE memberships DROP COLUMN pending;
