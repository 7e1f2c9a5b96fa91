-- The results a push stores for replay, one row per push instead of one per change. A push
-- stores the results of the seqs it applied, which are consecutive (from the device's next_seq
-- on), so a row holds the range first_seq..last_seq and the results as a JSON array in seq
-- order, text that PostgreSQL stores without parsing: a push of 100 changes inserts one row and
-- one index entry instead of 100 of each, and 100 jsonb values parsed. A replay reads the rows
-- whose range meets its seqs (ranges of a device never overlap); the key's last_seq finds them
-- from the newest, which is what a tablet resends.

-- +goose Up
CREATE TABLE push_replies (
    district_id text NOT NULL,
    device_id   uuid NOT NULL,
    first_seq   bigint NOT NULL,
    last_seq    bigint NOT NULL CHECK (last_seq >= first_seq),
    results     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, device_id, last_seq)
);
INSERT INTO push_replies (district_id, device_id, first_seq, last_seq, results, created_at)
    SELECT district_id, device_id, seq, seq, '[' || result::text || ']', created_at FROM push_results;
DROP TABLE push_results;

-- +goose Down
CREATE TABLE push_results (
    district_id text NOT NULL,
    device_id   uuid NOT NULL,
    seq         bigint NOT NULL,
    result      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, device_id, seq)
);
INSERT INTO push_results (district_id, device_id, seq, result, created_at)
    SELECT p.district_id, p.device_id, p.first_seq + r.i - 1, r.v, p.created_at
    FROM push_replies p, jsonb_array_elements(p.results::jsonb) WITH ORDINALITY AS r(v, i);
DROP TABLE push_replies;
