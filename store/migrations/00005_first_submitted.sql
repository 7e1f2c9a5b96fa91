-- When each record was first submitted (server clock), so that a co-observed lesson counts once:
-- of a co-observation group, the counted record submitted first counts in every view but
-- calibration (docs/statistics.md "Co-observations"). Amendments, deletions and conflict
-- resolutions keep the time; NULL for a record never submitted.

-- +goose Up
ALTER TABLE observations ADD COLUMN submitted_at timestamptz;
-- Filling the column changes no record: keep txid (pull cursors would otherwise resend the rows).
-- A record's first submission is the earliest of its revisions stored as submitted.
ALTER TABLE observations DISABLE TRIGGER observations_txid;
UPDATE observations o SET submitted_at = f.at
    FROM (SELECT x.district_id, x.observation_id, min(x.committed_at) AS at
          FROM (SELECT district_id, observation_id, committed_at, content FROM observations
                UNION ALL
                SELECT district_id, observation_id, committed_at, content FROM observation_revisions) AS x
          WHERE x.content->>'status' = 'submitted'
          GROUP BY x.district_id, x.observation_id) AS f
    WHERE o.district_id = f.district_id AND o.observation_id = f.observation_id;
ALTER TABLE observations ENABLE TRIGGER observations_txid;

-- The aggregates of districts with co-observed records counted every partner: the migrator
-- rebuilds them with the new rule right after migrating.
UPDATE districts d SET progress_rebuild = true
    WHERE EXISTS (SELECT 1 FROM observations o WHERE o.district_id = d.district_id AND o.co_observation IS NOT NULL);

-- +goose Down
ALTER TABLE observations DROP COLUMN submitted_at;
UPDATE districts d SET progress_rebuild = true
    WHERE EXISTS (SELECT 1 FROM observations o WHERE o.district_id = d.district_id AND o.co_observation IS NOT NULL);
