-- The version of each row of progress_cells: the id of the transaction that last wrote it
-- (pg_current_xact_id, 64 bits, never reused). A view that has read and summed a row before can
-- ask for it again by (key, rev) and get the row without its counters when it is unchanged
-- (store.ProgressCells, progress.CellQuery.Known). Every insert takes the default; every update
-- of a row's counters sets it (store.rowColumns.upsertSQL). Existing rows share the migrating
-- transaction's id, which is as good: a row's key and rev name one content.

-- +goose Up
ALTER TABLE progress_cells ADD COLUMN rev bigint NOT NULL DEFAULT (pg_current_xact_id()::text)::bigint;

-- +goose Down
ALTER TABLE progress_cells DROP COLUMN rev;
