-- Observation ids are unique across districts (a tablet's UUIDv7 names one record network-wide,
-- and reads by id must never depend on which of two rows comes first), and the keys that sign
-- pull cursors, shared by every server process on the database.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    dup text;
    n   bigint;
BEGIN
    SELECT count(*), string_agg(observation_id::text, ', ' ORDER BY observation_id)
      INTO n, dup
      FROM (SELECT observation_id FROM observations GROUP BY observation_id HAVING count(*) > 1 LIMIT 20) d;
    IF n > 0 THEN
        RAISE EXCEPTION 'observation ids exist in more than one district (%): each record must keep its id, so an operator has to decide which district''s record is given a new id before migrating', dup
            USING HINT = 'SELECT district_id, observation_id FROM observations WHERE observation_id IN (SELECT observation_id FROM observations GROUP BY 1 HAVING count(*) > 1)';
    END IF;
END;
$$;
-- +goose StatementEnd
CREATE UNIQUE INDEX observations_observation_id_key ON observations (observation_id);
DROP INDEX observations_id_idx;

-- Network-wide secrets (no district's data): filed under 'network', like network users' devices.
CREATE TABLE cursor_keys (
    district_id text NOT NULL DEFAULT 'network' CHECK (district_id = 'network'),
    key_id      text NOT NULL,
    secret      bytea NOT NULL CHECK (length(secret) >= 32),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (district_id, key_id)
);

-- +goose Down
DROP TABLE cursor_keys;
CREATE INDEX observations_id_idx ON observations (observation_id);
DROP INDEX observations_observation_id_key;
