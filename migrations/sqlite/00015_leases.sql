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

-- +goose Down
DROP TABLE leases;
