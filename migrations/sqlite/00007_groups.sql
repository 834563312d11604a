-- +goose Up
-- group_checkpoints: what syncd last applied for each (job, group anchor).
-- Times are INTEGER microseconds since the Unix epoch (UTC).
CREATE TABLE group_checkpoints (
    job           TEXT    NOT NULL,
    anchor        TEXT    NOT NULL CHECK (anchor <> ''),
    group_id      TEXT    NOT NULL DEFAULT '',
    name          TEXT    NOT NULL DEFAULT '',
    description   TEXT    NOT NULL DEFAULT '',
    population_id TEXT    NOT NULL DEFAULT '',
    adopted       INTEGER NOT NULL DEFAULT 0 CHECK (adopted IN (0, 1)),
    status        TEXT    NOT NULL CHECK (status IN ('active', 'pending', 'failed', 'conflict')),
    last_error    TEXT    NOT NULL DEFAULT '',
    members       INTEGER NOT NULL DEFAULT 0 CHECK (members >= 0),
    first_seen    INTEGER,
    last_synced   INTEGER,
    PRIMARY KEY (job, anchor)
) STRICT, WITHOUT ROWID;

-- memberships: the (group, member) pairs syncd added; member is a user
-- anchor, or a group anchor when nested = 1 (a nesting link).
CREATE TABLE memberships (
    job          TEXT    NOT NULL,
    group_anchor TEXT    NOT NULL CHECK (group_anchor <> ''),
    nested       INTEGER NOT NULL DEFAULT 0 CHECK (nested IN (0, 1)),
    member       TEXT    NOT NULL CHECK (member <> ''),
    preexisting  INTEGER NOT NULL DEFAULT 0 CHECK (preexisting IN (0, 1)),
    since        INTEGER,
    PRIMARY KEY (job, group_anchor, nested, member)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE memberships;
DROP TABLE group_checkpoints;
