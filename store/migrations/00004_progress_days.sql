-- Progress aggregates by day (period kind "day") and the count of observations with
-- participation coding (metric e|obs): a period in progress is compared with the same elapsed
-- days of the period before it, read from month and day rows; days since a classroom's last
-- visit are read from the day rows of the view's rubric; equity_observations counts the
-- observations with participation coding. Existing rows have neither, so every district that
-- holds observations is rebuilt right after migrating (see Migrator.Up).

-- +goose Up
CREATE INDEX progress_cells_days_idx ON progress_cells (district_id, rubric_id, classroom_id, period_key)
    WHERE period_kind = 'day';
UPDATE districts d SET progress_rebuild = true
    WHERE EXISTS (SELECT 1 FROM observations o WHERE o.district_id = d.district_id);

-- +goose Down
DROP INDEX progress_cells_days_idx;
DELETE FROM progress_cells WHERE period_kind = 'day';
DELETE FROM progress_cell_log WHERE period_kind = 'day';
DELETE FROM progress_pairs WHERE period_kind = 'day';
