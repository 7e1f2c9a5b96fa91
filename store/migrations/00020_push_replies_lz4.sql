-- A push stores its results for replay as one text value (push_replies.results, about 36 KB
-- for 100 changes before results left out their unused fields, 26 KB since), which PostgreSQL
-- compresses and moves out of line. 00018 gave the large values lz4 where the server has it;
-- this one was left with pglz, and its insert took 8.6 µs of PostgreSQL's time per pushed
-- observation (one tablet, batches of 100; about 6% of the time of a push's statements). With
-- lz4 and the shorter results: 2.8-3.7 µs. Only values written from now on change; stored ones
-- read as before.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
        ALTER TABLE push_replies ALTER COLUMN results SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE push_replies ALTER COLUMN results SET COMPRESSION default;
