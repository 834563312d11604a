-- +goose Up
-- group_checkpoints: what syncd last applied for each (job, group anchor).
CREATE TABLE group_checkpoints (
    job           text        NOT NULL,
    anchor        text        NOT NULL CHECK (anchor <> ''),
    group_id      text        NOT NULL DEFAULT '',
    name          text        NOT NULL DEFAULT '',
    description   text        NOT NULL DEFAULT '',
    population_id text        NOT NULL DEFAULT '',
    adopted       boolean     NOT NULL DEFAULT false,
    status        text        NOT NULL CHECK (status IN ('active', 'pending', 'failed', 'conflict')),
    last_error    text        NOT NULL DEFAULT '',
    members       integer     NOT NULL DEFAULT 0 CHECK (members >= 0),
    first_seen    timestamptz,
    last_synced   timestamptz,
    PRIMARY KEY (job, anchor)
);

-- memberships: the (group, member) pairs syncd added; member is a user
-- anchor, or a group anchor when nested (a nesting link).
CREATE TABLE memberships (
    job          text        NOT NULL,
    group_anchor text        NOT NULL CHECK (group_anchor <> ''),
    nested       boolean     NOT NULL DEFAULT false,
    member       text        NOT NULL CHECK (member <> ''),
    preexisting  boolean     NOT NULL DEFAULT false,
    since        timestamptz,
    PRIMARY KEY (job, group_anchor, nested, member)
);

-- +goose Down
DROP TABLE memberships;
DROP TABLE group_checkpoints;
