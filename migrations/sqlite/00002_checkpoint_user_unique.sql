-- +goose Up
-- One PingOne user, one anchor per job: two checkpoints of one job may never
-- claim the same user (an anchor exported composed one day and decomposed
-- the next used to become two). Checkpoints without a user (a create that
-- failed or never ran) hold user_id '' and are left out of the index.
--
-- Where a database already holds such pairs, the checkpoint synced last
-- keeps the user; the others lose it and fall back to a failed create, so
-- that the next run looks the user up by externalId rather than trust a
-- second claim.
UPDATE checkpoints
   SET last_error = 'another anchor of this job claimed the same PingOne user ' || user_id || '; looked up again by externalId',
       user_id = '', hash = '', status = 'failed'
 WHERE (job, anchor) IN (
       SELECT job, anchor FROM (
              SELECT job, anchor,
                     row_number() OVER (PARTITION BY job, user_id
                                        ORDER BY last_synced DESC NULLS LAST, last_seen DESC NULLS LAST, anchor DESC) AS rn
                FROM checkpoints
               WHERE user_id <> '')
        WHERE rn > 1);

CREATE UNIQUE INDEX checkpoints_job_user_idx ON checkpoints (job, user_id) WHERE user_id <> '';

-- +goose Down
DROP INDEX checkpoints_job_user_idx;
