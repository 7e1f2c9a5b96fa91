-- Web sign-in at each district's own identity provider, and trusted-issuer changes that every
-- server process honours at once (docs/identity.md).

-- +goose Up
-- The pages' client at the provider: its client id (one of the issuer's audiences) and a
-- reference to its secret, which the server reads from its secrets directory
-- (lookfor serve --oidc-secrets-dir, DIR/<district_id>/<reference>); the secret itself is never
-- stored here. Empty client id: the pages do not sign in at this provider (tablets still may).
ALTER TABLE identity_issuers
    ADD COLUMN web_client_id text NOT NULL DEFAULT '',
    ADD COLUMN web_client_secret_ref text NOT NULL DEFAULT '',
    ADD CONSTRAINT identity_issuers_web_client_check CHECK ((web_client_id = '') = (web_client_secret_ref = ''));

-- Every change to the trusted issuers is announced on channel lookfor_identity_issuers (sent
-- when the transaction commits); each server process listens and rereads its issuer list.
-- +goose StatementBegin
CREATE FUNCTION identity_issuers_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lookfor_identity_issuers', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER identity_issuers_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON identity_issuers
    FOR EACH STATEMENT EXECUTE FUNCTION identity_issuers_notify();

-- +goose Down
DROP TRIGGER identity_issuers_notify ON identity_issuers;
DROP FUNCTION identity_issuers_notify();
ALTER TABLE identity_issuers DROP CONSTRAINT identity_issuers_web_client_check,
    DROP COLUMN web_client_secret_ref, DROP COLUMN web_client_id;
