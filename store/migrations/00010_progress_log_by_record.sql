-- The log of cell deltas holds one row per group of cells that a write adds the same counters
-- to (in practice one row per record: a record adds the same counters to its cell of every
-- period kind), instead of one row per cell, and the counters as plain JSON text that only the
-- server reads (PostgreSQL never adds them: the compactor does, in Go). A push appends about a
-- sixth of the rows it did, and PostgreSQL parses no jsonb for them. periods lists the cells'
-- "kind/key"; the other key columns are shared.

-- +goose Up
CREATE TABLE progress_delta_log (
    district_id  text NOT NULL,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    site_id      text NOT NULL,
    classroom_id text NOT NULL,
    teacher_id   text NOT NULL,
    rubric_id    text NOT NULL,
    periods      text[] NOT NULL,
    m            text NOT NULL,
    PRIMARY KEY (district_id, seq)
);
INSERT INTO progress_delta_log (district_id, site_id, classroom_id, teacher_id, rubric_id, periods, m)
    SELECT district_id, site_id, classroom_id, teacher_id, rubric_id, ARRAY[period_kind || '/' || period_key], m::text
    FROM progress_cell_log ORDER BY district_id, seq;
DROP TABLE progress_cell_log;

-- +goose Down
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
INSERT INTO progress_cell_log (district_id, period_kind, period_key, site_id, classroom_id, teacher_id, rubric_id, m)
    SELECT l.district_id, split_part(p, '/', 1), substr(p, length(split_part(p, '/', 1)) + 2), l.site_id, l.classroom_id,
        l.teacher_id, l.rubric_id, l.m::jsonb
    FROM progress_delta_log l, unnest(l.periods) WITH ORDINALITY AS u(p, i) ORDER BY l.district_id, l.seq, u.i;
DROP TABLE progress_delta_log;
