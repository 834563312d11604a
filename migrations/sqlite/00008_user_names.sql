-- +goose Up
-- user_names: how the directory's group entries name each managed user
-- (normalised DN, uid), so that member values resolve on delta reads too.
CREATE TABLE user_names (
    job        TEXT NOT NULL,
    anchor     TEXT NOT NULL CHECK (anchor <> ''),
    dn         TEXT NOT NULL DEFAULT '',
    uid        TEXT NOT NULL DEFAULT '',
    population TEXT NOT NULL DEFAULT '',
    username   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job, anchor)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE user_names;
