package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/store"
)

// A push's lookups of the ids it names read those ids on their unique index in the plan a
// connection caches (the generic plan) even when that plan is made while the table is small and
// has no statistics, as in a new database: else the cached plan would read the whole district,
// or the whole table, on every later push, however large it grows.
func TestPushLookupsReadByID(t *testing.T) {
	t.Parallel()
	st := pgtest.NewStore(t)
	ctx := context.Background()
	_, err := st.Pool().Exec(ctx, `INSERT INTO districts (district_id, name) VALUES ('d1', 'One');
		INSERT INTO observations (district_id, observation_id, site_id, classroom_id, teacher_id, observer_id, status, kind,
			rubric_id, rubric_version, started_at, revision, content, content_hash, updated_by)
		SELECT 'd1', gen_random_uuid(), 's', 'c1', 't', 'o', 'draft', 'walkthrough', 'r', 1, now(), 1, '{}', 'h', 'o'
		FROM generate_series(1, 20)`)
	if err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
			return err
		}
		for i, q := range store.PushLookups {
			plan, err := explain(ctx, tx, fmt.Sprintf("lookup_%d", i), q.SQL, q.Args)
			if err != nil {
				t.Fatalf("%s: %v", q.Name, err)
			}
			if strings.Contains(plan, "Seq Scan on observations") || !strings.Contains(plan, "observations_observation_id_key") {
				t.Errorf("%s: the generic plan does not look the ids up on their index:\n%s", q.Name, plan)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// explain returns, as text, the generic plan of sql prepared as statement name, executed with args.
func explain(ctx context.Context, tx pgx.Tx, name, sql string, args []any) (string, error) {
	if _, err := tx.Exec(ctx, "PREPARE "+name+" AS "+sql); err != nil {
		return "", err
	}
	// EXPLAIN EXECUTE takes no parameters: the arguments are written as literals (the test's
	// own, with no quotes in them).
	params := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			params[i] = "'" + v + "'"
		case []string:
			params[i] = "'{" + strings.Join(v, ",") + "}'"
		case []int32:
			n := make([]string, len(v))
			for j, x := range v {
				n[j] = fmt.Sprint(x)
			}
			params[i] = "'{" + strings.Join(n, ",") + "}'"
		default:
			return "", fmt.Errorf("argument %d: %T", i+1, a)
		}
	}
	rows, err := tx.Query(ctx, "EXPLAIN EXECUTE "+name+"("+strings.Join(params, ", ")+")")
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}
