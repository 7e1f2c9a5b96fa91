package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/export"
	"github.com/lookfor-edu/lookfor/observation"
)

// exportTable is where a part of a district export lives and which of its rows belong to the
// district. Columns are the table's own, less those that only mean something in this database.
type exportTable struct {
	table   string
	omit    []string // columns not exported: the pull cursor's txid, the rebuild flag
	where   string   // rows of district $1; ranged parts also get $2 (after) and $3 (through)
	orderBy string
	// shared rows (rubrics) may already be in a database being imported into: they are
	// inserted when missing and must otherwise be the same.
	shared bool
}

// usedRubricVersions are the (rubric_id, version) pairs the district's records name, in any
// revision, and every version of the district's own rubrics.
const usedRubricVersions = `(SELECT rubric_id, rubric_version AS version FROM observations WHERE district_id = $1
	UNION SELECT content->>'rubric_id', (content->>'rubric_version')::int FROM observation_revisions
		WHERE district_id = $1 AND content ? 'rubric_id' AND jsonb_typeof(content->'rubric_version') = 'number'
	UNION SELECT rubric_id, version FROM rubric_versions WHERE district_id = $1)`

const observationRange = `district_id = $1 AND observation_id > $2::uuid AND ($3::uuid IS NULL OR observation_id <= $3::uuid)`

var exportTables = map[string]exportTable{
	"district":         {table: "districts", omit: []string{"progress_rebuild"}, where: "district_id = $1", orderBy: "district_id"},
	"sites":            {table: "sites", where: "district_id = $1", orderBy: "site_id"},
	"staff":            {table: "staff", where: "district_id = $1", orderBy: "staff_id"},
	"staff_sites":      {table: "staff_sites", where: "district_id = $1", orderBy: "staff_id, site_id"},
	"classrooms":       {table: "classrooms", where: "district_id = $1", orderBy: "classroom_id"},
	"identity_issuers": {table: "identity_issuers", where: "district_id = $1", orderBy: "issuer"},
	"identity_links":   {table: "identity_links", where: "district_id = $1", orderBy: "issuer, subject"},
	"goals":            {table: "progress_goals", where: "district_id = $1", orderBy: "goal_id"},
	"rubrics": {table: "rubrics", shared: true, orderBy: "district_id, rubric_id",
		where: "rubric_id IN (SELECT rubric_id FROM " + usedRubricVersions + " AS u)"},
	"rubric_versions": {table: "rubric_versions", omit: []string{"txid"}, shared: true, orderBy: "district_id, rubric_id, version",
		where: "(rubric_id, version) IN (SELECT rubric_id, version FROM " + usedRubricVersions + " AS u)"},
	"observations":          {table: "observations", omit: []string{"txid"}, where: observationRange, orderBy: "observation_id"},
	"observation_revisions": {table: "observation_revisions", where: observationRange, orderBy: "observation_id, revision"},
	"conflicts":             {table: "conflicts", where: observationRange, orderBy: "observation_id, conflict_id"},
}

func exportTableOf(part string) (exportTable, error) {
	t, ok := exportTables[part]
	if !ok {
		return t, fmt.Errorf("store: no export part %q", part)
	}
	return t, nil
}

// exportColumns lists a part's exported columns in table order.
func exportColumns(ctx context.Context, q pgx.Tx, part string) ([]string, error) {
	t, err := exportTableOf(part)
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT attname FROM pg_attribute
		WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, t.table)
	if err != nil {
		return nil, err
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(cols, func(c string) bool { return slices.Contains(t.omit, c) }), nil
}

func columnList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// ExportSnapshot runs fn on one read-only, repeatable-read transaction: every part of an archive
// comes from the same moment. Times are written in UTC.
func (s *Store) ExportSnapshot(ctx context.Context, fn func(export.Snapshot) error) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL TimeZone = 'UTC'`); err != nil {
			return err
		}
		return fn(&exportTx{tx: tx, cols: map[string][]string{}})
	})
	return classify(err)
}

// ImportTx runs fn in one read-write transaction.
func (s *Store) ImportTx(ctx context.Context, fn func(export.Target) error) error {
	return s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		return fn(&exportTx{tx: tx, s: s, cols: map[string][]string{}})
	})
}

var (
	_ export.Source = (*Store)(nil)
	_ export.Sink   = (*Store)(nil)
)

// exportTx is both sides of an export: reading a snapshot and importing into an empty database.
type exportTx struct {
	tx   pgx.Tx
	s    *Store
	cols map[string][]string
}

func (x *exportTx) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := x.tx.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	return v, err
}

func (x *exportTx) DistrictExists(ctx context.Context, d string) (bool, error) {
	var ok bool
	err := x.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM districts WHERE district_id = $1)`, d).Scan(&ok)
	return ok, err
}

func (x *exportTx) Bound(ctx context.Context, d, after string, max int) (string, error) {
	var id *string
	err := x.tx.QueryRow(ctx, `SELECT observation_id::text FROM observations
		WHERE district_id = $1 AND observation_id > $2::uuid ORDER BY observation_id OFFSET $3 - 1 LIMIT 1`,
		d, uuidOrZero(after), max).Scan(&id)
	if err == pgx.ErrNoRows {
		return "", nil
	}
	if err != nil || id == nil {
		return "", err
	}
	// The max-th record is the bound only if more follow; otherwise this archive is the last.
	var more bool
	if err := x.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM observations WHERE district_id = $1 AND observation_id > $2::uuid)`,
		d, *id).Scan(&more); err != nil || !more {
		return "", err
	}
	return *id, nil
}

func uuidOrZero(id string) string {
	if id == "" {
		return "00000000-0000-0000-0000-000000000000"
	}
	return id
}

func (x *exportTx) Columns(ctx context.Context, part string) ([]string, error) {
	if c, ok := x.cols[part]; ok {
		return c, nil
	}
	c, err := exportColumns(ctx, x.tx, part)
	if err != nil {
		return nil, err
	}
	x.cols[part] = c
	return c, nil
}

// table returns where part lives and its exported columns.
func (x *exportTx) table(ctx context.Context, part string) (exportTable, []string, error) {
	t, err := exportTableOf(part)
	if err != nil {
		return t, nil, err
	}
	cols, err := x.Columns(ctx, part)
	return t, cols, err
}

func (x *exportTx) Rows(ctx context.Context, part, d string, r export.Range, fn func(json.RawMessage) error) error {
	t, cols, err := x.table(ctx, part)
	if err != nil {
		return err
	}
	sql := `SELECT row_to_json(x)::text FROM (SELECT ` + columnList(cols) + ` FROM ` + t.table +
		` WHERE ` + t.where + ` ORDER BY ` + t.orderBy + `) AS x`
	args := []any{d}
	if strings.Contains(t.where, "$2") {
		var through *string
		if r.Through != "" {
			through = &r.Through
		}
		args = append(args, uuidOrZero(r.After), through)
	}
	// Rows are read one at a time as PostgreSQL sends them: an archive never holds a part in memory.
	rows, err := x.tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var row []byte
	for rows.Next() {
		if err := rows.Scan(&row); err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Insert adds rows of part, refusing any that belong to another district. Shared rows (rubrics
// and their versions, which may be the network's) are inserted when missing; a version already
// present must have the same content hash. The rows are read as json, not jsonb, so a JSON value
// stored as json (an observation's content) is inserted as the archive holds it, byte for byte.
func (x *exportTx) Insert(ctx context.Context, part, d string, rows []json.RawMessage) error {
	t, cols, err := x.table(ctx, part)
	if err != nil {
		return err
	}
	list := columnList(cols)
	owner := `r.district_id = $2`
	if t.shared {
		owner = `r.district_id IN ($2, '` + observation.NetworkOwner + `')`
	}
	sql := `INSERT INTO ` + t.table + ` (` + list + `) SELECT ` + list +
		` FROM json_populate_recordset(NULL::` + t.table + `, $1::json) AS r WHERE ` + owner
	if t.shared {
		sql += ` ON CONFLICT DO NOTHING`
	}
	arr, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	tag, err := x.tx.Exec(ctx, sql, string(arr), d)
	if err != nil {
		return importError(part, err)
	}
	if !t.shared {
		if n := tag.RowsAffected(); n != int64(len(rows)) {
			return observation.Invalid(part, "OTHER_DISTRICT", "%d of %d rows of %s belong to another district than %s", int64(len(rows))-n, len(rows), part, d)
		}
		return nil
	}
	if part != "rubric_versions" {
		return nil
	}
	var differ []string
	err = x.tx.QueryRow(ctx, `SELECT coalesce(array_agg(r.rubric_id || ' version ' || r.version), '{}')
		FROM json_populate_recordset(NULL::rubric_versions, $1::json) AS r
		JOIN rubric_versions v USING (district_id, rubric_id, version)
		WHERE v.content_hash <> r.content_hash`, string(arr)).Scan(&differ)
	if err != nil {
		return importError(part, err)
	}
	if len(differ) > 0 {
		return observation.Precondition("RUBRIC_DIFFERS", "this database holds %s with other content than the export", strings.Join(differ, ", "))
	}
	return nil
}

// importError names the part whose rows the database refused; the cause stays wrapped.
func importError(part string, err error) error {
	err = classify(err)
	if e, ok := err.(*observation.Error); ok {
		return &observation.Error{Kind: e.Kind, Reason: e.Reason, Field: part,
			Message: fmt.Sprintf("%s: %s", part, e.Message), Err: e.Err}
	}
	return err
}

// Finish rebuilds the imported district's progress aggregates.
func (x *exportTx) Finish(ctx context.Context, d string) error {
	return x.s.rebuildProgress(ctx, x.tx, d)
}
