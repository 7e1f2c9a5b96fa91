-- Site rows in progress_cells: per (period, site, rubric), the sum of the site's cells with
-- per-teacher counters (progress.SiteMetrics), under an empty classroom and teacher (a record
-- always names its classroom, so no cell has that key). The district view reads one of them per
-- site and period instead of one cell per classroom. Existing districts get them from a rebuild
-- right after migrating (see Migrator.Up).

-- +goose Up
CREATE INDEX progress_site_rows_idx ON progress_cells (district_id, rubric_id, period_kind, period_key, site_id)
    WHERE classroom_id = '';
UPDATE districts d SET progress_rebuild = true
    WHERE EXISTS (SELECT 1 FROM observations o WHERE o.district_id = d.district_id);

-- +goose Down
DROP INDEX progress_site_rows_idx;
DELETE FROM progress_cells WHERE classroom_id = '';
