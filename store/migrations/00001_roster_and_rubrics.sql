-- Districts, their rosters, and rubrics. Every table holding a district's data carries
-- district_id first in its primary key, so the schema can be distributed by district.

-- +goose Up
CREATE TABLE districts (
    district_id text PRIMARY KEY CHECK (district_id <> 'network'),
    name        text NOT NULL,
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sites (
    district_id text NOT NULL REFERENCES districts ON DELETE CASCADE,
    site_id     text NOT NULL,
    name        text NOT NULL,
    grade_band  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, site_id)
);

CREATE TABLE staff (
    district_id text NOT NULL REFERENCES districts ON DELETE CASCADE,
    staff_id    text NOT NULL,
    given_name  text NOT NULL DEFAULT '',
    family_name text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    role        text NOT NULL CHECK (role IN ('teacher', 'coach', 'principal', 'district_admin')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, staff_id)
);

CREATE TABLE staff_sites (
    district_id text NOT NULL,
    staff_id    text NOT NULL,
    site_id     text NOT NULL,
    PRIMARY KEY (district_id, staff_id, site_id),
    FOREIGN KEY (district_id, staff_id) REFERENCES staff ON DELETE CASCADE,
    FOREIGN KEY (district_id, site_id) REFERENCES sites ON DELETE CASCADE
);
CREATE INDEX staff_sites_site_idx ON staff_sites (district_id, site_id);

CREATE TABLE classrooms (
    district_id  text NOT NULL,
    classroom_id text NOT NULL,
    site_id      text NOT NULL,
    course       text NOT NULL DEFAULT '',
    grade        text NOT NULL DEFAULT '',
    section      text NOT NULL DEFAULT '',
    teacher_id   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, classroom_id),
    FOREIGN KEY (district_id, site_id) REFERENCES sites ON DELETE CASCADE,
    FOREIGN KEY (district_id, teacher_id) REFERENCES staff (district_id, staff_id)
);
CREATE INDEX classrooms_site_idx ON classrooms (district_id, site_id);

-- Rubrics are owned by a district, or by the whole network (district_id = 'network').
-- Rubric ids are unique across owners so that a record's (rubric_id, version) is unambiguous.
CREATE TABLE rubrics (
    district_id text NOT NULL,
    rubric_id   text NOT NULL,
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, rubric_id)
);
CREATE UNIQUE INDEX rubrics_rubric_id_key ON rubrics (rubric_id);

CREATE TABLE rubric_versions (
    district_id  text NOT NULL,
    rubric_id    text NOT NULL,
    version      integer NOT NULL CHECK (version >= 1),
    status       text NOT NULL CHECK (status IN ('draft', 'published', 'retired')),
    content      jsonb NOT NULL,
    content_hash text NOT NULL CHECK (length(content_hash) = 64),
    created_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    retired_at   timestamptz,
    PRIMARY KEY (district_id, rubric_id, version),
    FOREIGN KEY (district_id, rubric_id) REFERENCES rubrics ON DELETE CASCADE,
    CHECK ((status = 'draft') = (published_at IS NULL)),
    CHECK ((status = 'retired') = (retired_at IS NOT NULL))
);

-- A published version is immutable: the database refuses content changes and moves back to
-- draft, whatever code path tries them.
-- +goose StatementBegin
CREATE FUNCTION rubric_versions_freeze() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'draft' AND (NEW.content IS DISTINCT FROM OLD.content
            OR NEW.content_hash IS DISTINCT FROM OLD.content_hash
            OR NEW.status = 'draft'
            OR (OLD.status = 'retired' AND NEW.status <> 'retired')) THEN
        RAISE EXCEPTION 'rubric % version % is %, and published versions are immutable',
            OLD.rubric_id, OLD.version, OLD.status
            USING ERRCODE = 'P0001', HINT = 'lookfor:rubric_frozen';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER rubric_versions_freeze BEFORE UPDATE ON rubric_versions
    FOR EACH ROW EXECUTE FUNCTION rubric_versions_freeze();

-- +goose Down
DROP TABLE rubric_versions;
DROP FUNCTION rubric_versions_freeze();
DROP TABLE rubrics;
DROP TABLE classrooms;
DROP TABLE staff_sites;
DROP TABLE staff;
DROP TABLE sites;
DROP TABLE districts;
