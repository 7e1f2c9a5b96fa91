-- The counters of progress_cells and progress_pairs are stored as the JSON text the server
-- writes and reads, not as jsonb. PostgreSQL never adds them up any more (the server sums them,
-- progress_rows.go), so parsing every row written into jsonb, and printing every row read back
-- as text, was work for nothing: copying the same rows in took 29 µs each as jsonb against 10-13
-- µs as text on the development machine. The few statements that look inside (progress_add for
-- a row two writers insert at once, the observation count of a row being emptied) cast to jsonb
-- where they need it. The text is the same JSON object as before, so the server reads rows of
-- either form; lz4 compression, where the server has it, is set again on the new columns.

-- +goose Up
ALTER TABLE progress_cells ALTER COLUMN m TYPE text USING m::text;
ALTER TABLE progress_pairs ALTER COLUMN m TYPE text USING m::text;
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
        ALTER TABLE progress_cells ALTER COLUMN m SET COMPRESSION lz4;
        ALTER TABLE progress_pairs ALTER COLUMN m SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE progress_cells ALTER COLUMN m TYPE jsonb USING m::jsonb;
ALTER TABLE progress_pairs ALTER COLUMN m TYPE jsonb USING m::jsonb;
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
        ALTER TABLE progress_cells ALTER COLUMN m SET COMPRESSION lz4;
        ALTER TABLE progress_pairs ALTER COLUMN m SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd
