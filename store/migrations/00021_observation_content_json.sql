-- An observation's content is stored as json, the text the server wrote, instead of jsonb.
-- PostgreSQL never looks inside the content of an observation as it is stored: the server reads
-- it whole (pulls, pushes, exports) and the columns PostgreSQL filters on (district, site,
-- classroom, status, dates) are their own. Parsing every written record into jsonb, and
-- printing every read one back as text, was work for nothing: copying 100,000 records of a
-- seeded network into a table like observations took 8.3-8.7 s with jsonb content against
-- 5.0-5.4 s with json (about 33 µs a record, nearly two fifths of PostgreSQL's time for one),
-- and a bulk load waits on that copy. json still checks that the content is JSON, and ->, ->> and the
-- json_ functions still read it.
--
-- Content written from now on is kept exactly as the server wrote it: the canonical JSON whose
-- SHA-256 is content_hash. Stored content is converted as jsonb prints it (keys reordered,
-- spaces added): the same JSON, read the same. The superseded revisions
-- (observation_revisions) stay jsonb: they are written by edits only.
--
-- The column's type changes in place: PostgreSQL rewrites the table and its indexes, holding
-- its lock meanwhile (9 s for 200,000 records on the development machine), so pushes and pulls
-- wait for it; run it in the release's maintenance window (docs/deploy.md). The rewrite
-- compresses with lz4 where the server has it (00018), set in the same statement: set after it,
-- the rewritten values would keep the default compression.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
        ALTER TABLE observations ALTER COLUMN content TYPE json USING content::json, ALTER COLUMN content SET COMPRESSION lz4;
    ELSE
        ALTER TABLE observations ALTER COLUMN content TYPE json USING content::json;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
        ALTER TABLE observations ALTER COLUMN content TYPE jsonb USING content::jsonb, ALTER COLUMN content SET COMPRESSION lz4;
    ELSE
        ALTER TABLE observations ALTER COLUMN content TYPE jsonb USING content::jsonb;
    END IF;
END
$$;
-- +goose StatementEnd
