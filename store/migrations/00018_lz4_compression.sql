-- The large values PostgreSQL compresses (an observation's content, about 3 KB of jsonb; its
-- superseded revisions; a conflict's proposed record; the counters of site rows, which hold a
-- counter per teacher) are compressed with lz4 instead of pglz where the server supports it
-- (PostgreSQL 14 and later built with lz4, as Debian's and the common managed services are):
-- pglz was the largest single cost of PostgreSQL's share of pushes and loads, and lz4
-- compresses and decompresses several times faster. Only values written from now on change;
-- stored values stay as they are and read as before. Where lz4 is missing nothing changes.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
        ALTER TABLE observations ALTER COLUMN content SET COMPRESSION lz4;
        ALTER TABLE observation_revisions ALTER COLUMN content SET COMPRESSION lz4;
        ALTER TABLE conflicts ALTER COLUMN proposed SET COMPRESSION lz4;
        ALTER TABLE progress_cells ALTER COLUMN m SET COMPRESSION lz4;
        ALTER TABLE progress_pairs ALTER COLUMN m SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE observations ALTER COLUMN content SET COMPRESSION default;
ALTER TABLE observation_revisions ALTER COLUMN content SET COMPRESSION default;
ALTER TABLE conflicts ALTER COLUMN proposed SET COMPRESSION default;
ALTER TABLE progress_cells ALTER COLUMN m SET COMPRESSION default;
ALTER TABLE progress_pairs ALTER COLUMN m SET COMPRESSION default;
