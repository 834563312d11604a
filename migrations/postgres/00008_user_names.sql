-- +goose Up
-- user_names: how the directory's group entries name each managed user
-- (normalised DN, uid), so that member values resolve on delta reads too.
CREATE TABLE user_names (
    job        text NOT NULL,
    anchor     text NOT NULL CHECK (anchor <> ''),
    dn         text NOT NULL DEFAULT '',
    uid        text NOT NULL DEFAULT '',
    population text NOT NULL DEFAULT '',
    username   text NOT NULL DEFAULT '',
    PRIMARY KEY (job, anchor)
);

-- +goose Down
DROP TABLE user_names;
