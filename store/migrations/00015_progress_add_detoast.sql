-- progress_add, the merge of counters every fold of the log (and every direct aggregate write)
-- runs once per cell row, read the stored counters with a->>k once per counter of the delta.
-- Site rows are large enough to be stored compressed, and each a->>k on a compressed value
-- decompresses the whole value again: most of a fold's time in PostgreSQL. The same sum now
-- reads a decompressed copy made once per call (a || '{}' returns a detoasted value; OFFSET 0
-- keeps it computed once). Results are identical; for rows stored uncompressed it costs the same.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION progress_add(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT s.d || coalesce((SELECT jsonb_object_agg(k, coalesce((s.d->>k)::bigint, 0) + v::bigint)
                            FROM jsonb_each_text(b) AS e(k, v)), '{}')
    FROM (SELECT a || '{}'::jsonb AS d OFFSET 0) AS s
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION progress_add(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT a || coalesce((SELECT jsonb_object_agg(k, coalesce((a->>k)::bigint, 0) + v::bigint)
                          FROM jsonb_each_text(b) AS e(k, v)), '{}')
$$;
-- +goose StatementEnd
