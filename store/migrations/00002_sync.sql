-- Offline sync: devices and their sequence numbers, observations with every revision, the
-- results of each pushed change (for replay), conflicts kept for a person, and the audit log.
-- Rows that pulls read carry txid, the xid8 of the transaction that last wrote them: a pull
-- returns rows whose txid is not visible in the cursor's snapshot, so a transaction that
-- commits late is never skipped.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION stamp_txid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.txid := pg_current_xact_id();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

ALTER TABLE rubric_versions ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE TRIGGER rubric_versions_txid BEFORE UPDATE ON rubric_versions
    FOR EACH ROW EXECUTE FUNCTION stamp_txid();

CREATE TABLE devices (
    district_id    text NOT NULL, -- the user's district, or 'network' for network-wide users
    device_id      uuid NOT NULL,
    user_id        text NOT NULL,
    next_seq       bigint NOT NULL DEFAULT 1 CHECK (next_seq >= 1),
    client_version text NOT NULL DEFAULT '',
    schema_version integer NOT NULL DEFAULT 0,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    last_push_at   timestamptz,
    PRIMARY KEY (district_id, device_id)
);
CREATE UNIQUE INDEX devices_device_id_key ON devices (device_id);

CREATE TABLE push_results (
    district_id text NOT NULL,
    device_id   uuid NOT NULL,
    seq         bigint NOT NULL,
    result      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, device_id, seq)
);

CREATE TABLE observations (
    district_id    text NOT NULL REFERENCES districts,
    observation_id uuid NOT NULL,
    site_id        text NOT NULL,
    -- Sites an amendment moved the record away from: pulls send their coaches a removal.
    former_sites   text[] NOT NULL DEFAULT '{}',
    classroom_id   text NOT NULL,
    teacher_id     text NOT NULL,
    observer_id    text NOT NULL,
    status         text NOT NULL CHECK (status IN ('draft', 'submitted')),
    kind           text NOT NULL,
    rubric_id      text NOT NULL,
    rubric_version integer NOT NULL,
    started_at     timestamptz NOT NULL,
    revision       integer NOT NULL CHECK (revision >= 1),
    content        jsonb NOT NULL,
    content_hash   text NOT NULL,
    deleted        boolean NOT NULL DEFAULT false,
    deleted_at     timestamptz,
    updated_by     text NOT NULL,
    device_id      uuid,
    committed_at   timestamptz NOT NULL DEFAULT now(),
    txid           xid8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (district_id, observation_id)
);
CREATE INDEX observations_txid_idx ON observations (district_id, txid, observation_id);
CREATE INDEX observations_site_idx ON observations (district_id, site_id, committed_at DESC);
CREATE INDEX observations_id_idx ON observations (observation_id);
CREATE TRIGGER observations_txid BEFORE UPDATE ON observations
    FOR EACH ROW EXECUTE FUNCTION stamp_txid();

CREATE TABLE observation_revisions (
    district_id    text NOT NULL,
    observation_id uuid NOT NULL,
    revision       integer NOT NULL,
    content        jsonb NOT NULL,
    content_hash   text NOT NULL,
    deleted        boolean NOT NULL DEFAULT false,
    updated_by     text NOT NULL,
    device_id      uuid,
    committed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, observation_id, revision)
);

CREATE TABLE conflicts (
    district_id       text NOT NULL,
    conflict_id       uuid NOT NULL,
    observation_id    uuid NOT NULL,
    base_revision     integer NOT NULL,
    server_revision   integer NOT NULL,
    proposed          jsonb NOT NULL,
    proposed_hash     text NOT NULL,
    proposed_delete   boolean NOT NULL DEFAULT false,
    proposed_by       text NOT NULL,
    device_id         uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution        text,
    resolved_by       text,
    resolved_at       timestamptz,
    resolved_revision integer,
    PRIMARY KEY (district_id, conflict_id)
);
CREATE INDEX conflicts_open_idx ON conflicts (district_id, status, created_at);
CREATE INDEX conflicts_observation_idx ON conflicts (district_id, observation_id);

CREATE TABLE audit_log (
    district_id   text NOT NULL,
    audit_id      bigint GENERATED ALWAYS AS IDENTITY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,
    role          text NOT NULL,
    device_id     text NOT NULL DEFAULT '',
    action        text NOT NULL,
    resource_type text NOT NULL,
    resource_id   text NOT NULL,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (district_id, audit_id)
);
CREATE INDEX audit_log_at_idx ON audit_log (district_id, at DESC);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE conflicts;
DROP TABLE observation_revisions;
DROP TABLE observations;
DROP TABLE push_results;
DROP TABLE devices;
DROP TRIGGER rubric_versions_txid ON rubric_versions;
ALTER TABLE rubric_versions DROP COLUMN txid;
DROP FUNCTION stamp_txid();
