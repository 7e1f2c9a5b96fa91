-- progress_visits (submitted observations per classroom and day) was maintained by every write
-- but read by no view since days since a classroom's last visit read the day rows of the view's
-- rubric: every push paid an upsert of it. Dropped; the down migration recreates it and has the
-- migrator rebuild the aggregates of every district that holds observations, which fills it
-- again only with a server of that version.

-- +goose Up
DROP TABLE progress_visits;

-- +goose Down
CREATE TABLE progress_visits (
    district_id  text NOT NULL,
    classroom_id text NOT NULL,
    day          date NOT NULL,
    n            integer NOT NULL,
    PRIMARY KEY (district_id, classroom_id, day)
);
UPDATE districts d SET progress_rebuild = true
    WHERE EXISTS (SELECT 1 FROM observations o WHERE o.district_id = d.district_id);
