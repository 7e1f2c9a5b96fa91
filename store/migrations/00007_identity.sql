-- Identity (DESIGN.md §8): a verified token names a person (issuer + subject); lookfor's roster
-- says what they may do. These tables hold the roster records of people who belong to no
-- district, which identity providers each district trusts, and which token identity is linked
-- to which staff record.

-- +goose Up
-- A staff record's status: inactive and tobedeleted (OneRoster) people cannot sign in.
ALTER TABLE staff ADD COLUMN status text NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'inactive', 'tobedeleted'));
-- First sign-in links a token identity to the staff record with its verified email.
CREATE INDEX staff_email_idx ON staff (lower(email)) WHERE email <> '';

-- Network-level people (admins, network analysts): records managed by admins, in no district
-- (district_id is 'network', as for the network's rubrics).
CREATE TABLE network_staff (
    district_id text NOT NULL DEFAULT 'network' CHECK (district_id = 'network'),
    staff_id    text NOT NULL,
    given_name  text NOT NULL DEFAULT '',
    family_name text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    role        text NOT NULL CHECK (role IN ('network_analyst', 'admin')),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'tobedeleted')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, staff_id)
);
CREATE INDEX network_staff_email_idx ON network_staff (lower(email)) WHERE email <> '';

-- The identity providers a district trusts. A shared issuer (Google, Microsoft's common
-- endpoints) can be trusted by several districts: email_domains then decides which district a
-- first sign-in may link into. link_claim: 'email' links by verified email, 'sub' by the
-- subject being the staff id (OneRoster sourcedId, as Clever and ClassLink send it).
CREATE TABLE identity_issuers (
    district_id   text NOT NULL REFERENCES districts ON DELETE CASCADE,
    issuer        text NOT NULL CHECK (issuer <> ''),
    audiences     text[] NOT NULL CHECK (cardinality(audiences) > 0),
    email_domains text[] NOT NULL DEFAULT '{}',
    link_claim    text NOT NULL DEFAULT 'email' CHECK (link_claim IN ('email', 'sub')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, issuer)
);
CREATE INDEX identity_issuers_issuer_idx ON identity_issuers (issuer);

-- Which staff record a token identity is. district_id is 'network' for network_staff. Once a
-- link exists, the subject alone decides (a changed email changes nothing). An identity is
-- linked to one record across all districts: the unique (issuer, subject) index is what every
-- call looks up (distributed by district, this small table would be a reference table).
CREATE TABLE identity_links (
    district_id text NOT NULL,
    issuer      text NOT NULL,
    subject     text NOT NULL,
    staff_id    text NOT NULL,
    linked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, issuer, subject)
);
CREATE UNIQUE INDEX identity_links_identity_key ON identity_links (issuer, subject);
CREATE INDEX identity_links_staff_idx ON identity_links (district_id, staff_id);

-- +goose Down
DROP TABLE identity_links;
DROP TABLE identity_issuers;
DROP TABLE network_staff;
DROP INDEX staff_email_idx;
ALTER TABLE staff DROP COLUMN status;
