-- A version of each district's progress_cells rows of a rubric: every transaction that writes
-- them (the compactor, rebuilds, the loader, seeding: store.applyRows and store.rebuildProgress)
-- raises it by one in the same transaction, under the row's lock, so two snapshots that read the
-- same version read the same rows. A view that holds sums of a district's rows asks for the
-- version in the statement that reads the rows and is sent none of them when it is the version
-- held and the log has nothing for them (store.ProgressDistrictRows, the network measures). A
-- district and rubric without a row are at version 0. Pushes append to the log and do not touch it.

-- +goose Up
CREATE TABLE progress_versions (
    district_id text NOT NULL,
    rubric_id text NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (district_id, rubric_id)
);

-- +goose Down
DROP TABLE progress_versions;
