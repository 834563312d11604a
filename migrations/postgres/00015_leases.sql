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

-- +goose Down
DROP TABLE leases;
