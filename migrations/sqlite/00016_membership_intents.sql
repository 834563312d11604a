-- +goose Up
-- memberships.pending: an addition whose POST may have reached PingOne
-- (its intent is recorded before the call, DESIGN invariant 6). The next
-- run sends it again: PingOne answering "already a member" then means
-- syncd added it, not an admin, so it stays removable. (ADD COLUMN keeps
-- the table and its primary key: no rebuild.)
ALTER TABLE memberships ADD COLUMN pending INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1));

-- +goose Down
ALTER TABLE memberships DROP COLUMN pending;
