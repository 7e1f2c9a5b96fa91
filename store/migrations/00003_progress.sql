-- Progress aggregates (DESIGN.md §7 "Speed"): the rows the progress views read, maintained in the
-- transaction of every observation write (see observation.ProgressDelta), and district goals.
--
-- Every m column is a flat JSON object of integer counters (metric name → count); a missing name
-- counts as 0, and a name whose count fell back to 0 may stay. progress_add adds two of them.

-- +goose Up
-- The co-observation key of a record (NULL when it has none), so a write can find the other
-- members of its co-observation group without reading content.
ALTER TABLE observations ADD COLUMN co_observation text;
-- Filling the column changes no record: keep txid (pull cursors would otherwise resend the rows).
ALTER TABLE observations DISABLE TRIGGER observations_txid;
UPDATE observations SET co_observation = nullif(content->>'co_observation', '')
    WHERE nullif(content->>'co_observation', '') IS NOT NULL;
ALTER TABLE observations ENABLE TRIGGER observations_txid;
CREATE INDEX observations_co_observation_idx ON observations (district_id, co_observation)
    WHERE co_observation IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION progress_add(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT a || coalesce((SELECT jsonb_object_agg(k, coalesce((a->>k)::bigint, 0) + v::bigint)
                          FROM jsonb_each_text(b) AS e(k, v)), '{}')
$$;
-- +goose StatementEnd

-- Counters of the submitted observations of one (period, site, classroom, teacher, rubric).
CREATE TABLE progress_cells (
    district_id  text NOT NULL,
    period_kind  text NOT NULL,
    period_key   text NOT NULL,
    site_id      text NOT NULL,
    classroom_id text NOT NULL,
    teacher_id   text NOT NULL,
    rubric_id    text NOT NULL,
    m            jsonb NOT NULL,
    PRIMARY KEY (district_id, period_kind, period_key, site_id, classroom_id, teacher_id, rubric_id)
);

-- Cell deltas written by pushes and not yet added to progress_cells. A push appends its cells'
-- deltas here (plain inserts: no row of progress_cells is merged or locked while tablets sync) and
-- the server's compactor folds them into progress_cells, each in one transaction; the views read
-- both tables, so they always see every committed write.
CREATE TABLE progress_cell_log (
    district_id  text NOT NULL,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    period_kind  text NOT NULL,
    period_key   text NOT NULL,
    site_id      text NOT NULL,
    classroom_id text NOT NULL,
    teacher_id   text NOT NULL,
    rubric_id    text NOT NULL,
    m            jsonb NOT NULL,
    PRIMARY KEY (district_id, seq)
);

-- Confusion counts of the co-observed lessons of one pair of observers (observer_a < observer_b).
CREATE TABLE progress_pairs (
    district_id text NOT NULL,
    period_kind text NOT NULL,
    period_key  text NOT NULL,
    site_id     text NOT NULL,
    observer_a  text NOT NULL,
    observer_b  text NOT NULL,
    rubric_id   text NOT NULL,
    m           jsonb NOT NULL,
    PRIMARY KEY (district_id, period_kind, period_key, site_id, observer_a, observer_b, rubric_id)
);

-- Submitted observations per classroom and UTC date started; rows with n = 0 are removed.
CREATE TABLE progress_visits (
    district_id  text NOT NULL,
    classroom_id text NOT NULL,
    day          date NOT NULL,
    n            integer NOT NULL,
    PRIMARY KEY (district_id, classroom_id, day)
);

CREATE TABLE progress_goals (
    district_id   text NOT NULL REFERENCES districts ON DELETE CASCADE,
    goal_id       uuid NOT NULL,
    site_id       text NOT NULL DEFAULT '',
    title         text NOT NULL DEFAULT '',
    rubric_id     text NOT NULL,
    dimension     text NOT NULL,
    measure       text NOT NULL,
    target        double precision NOT NULL,
    target_date   date NOT NULL,
    baseline_kind text NOT NULL DEFAULT '',
    baseline_key  text NOT NULL DEFAULT '',
    period_kind   text NOT NULL DEFAULT '',
    created_by    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, goal_id)
);

-- Districts whose aggregates must be computed from their observations: those that held
-- observations when this migration ran. The migrator rebuilds them right after migrating (and
-- on any later run, should that be interrupted), clearing the flag with each rebuild.
ALTER TABLE districts ADD COLUMN progress_rebuild boolean NOT NULL DEFAULT false;
UPDATE districts d SET progress_rebuild = true
    WHERE EXISTS (SELECT 1 FROM observations o WHERE o.district_id = d.district_id);

-- +goose Down
ALTER TABLE districts DROP COLUMN progress_rebuild;
DROP TABLE progress_goals;
DROP TABLE progress_visits;
DROP TABLE progress_cell_log;
DROP TABLE progress_pairs;
DROP TABLE progress_cells;
DROP FUNCTION progress_add(jsonb, jsonb);
DROP INDEX observations_co_observation_idx;
ALTER TABLE observations DROP COLUMN co_observation;
