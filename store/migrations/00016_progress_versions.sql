-- A version of each district's progress_cells rows: every transaction that writes a district's
-- rows of progress_cells (the compactor, rebuilds, the loader, seeding: store.applyRows and
-- store.rebuildProgress) raises it by one in the same transaction, under the row's lock, so two
-- snapshots that read the same version of a district read the same rows. A view that holds sums
-- of a district's rows asks for the district's version in the statement that reads the rows and
-- is sent none of them when it is the version held and the log has nothing for them
-- (store.ProgressDistrictRows, the network measures). A district without a row is at version 0.
-- Pushes append to the log and do not touch it.

-- +goose Up
CREATE TABLE progress_versions (
    district_id text PRIMARY KEY,
    version bigint NOT NULL
);

-- +goose Down
DROP TABLE progress_versions;
