-- Web sign-in sessions (docs/identity.md): the pages' session cookie names a row here, so signing
-- out ends the session on every server process. data is the session manager's encoding (the
-- identity of the signed-in person, the sign-in's pending state); never a token.

-- +goose Up
-- Sessions belong to no district until signed in (and then are looked up by token alone):
-- district_id is always 'network', as for network_staff.
CREATE TABLE web_sessions (
    district_id text NOT NULL DEFAULT 'network' CHECK (district_id = 'network'),
    token       text NOT NULL,
    data        bytea NOT NULL,
    expiry      timestamptz NOT NULL,
    PRIMARY KEY (district_id, token)
);
CREATE INDEX web_sessions_expiry_idx ON web_sessions (expiry);

-- +goose Down
DROP TABLE web_sessions;
