package store_test

import (
	"context"
	"encoding/json"
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

// The read of co-observation groups' members looks each group up on its index when the
// statistics were taken before the district had any co-observation, and a load (one transaction,
// where no ANALYZE sees its rows) then writes thousands: planned on those statistics, the join
// read the whole of observations_co_observation_idx for every batch, 2.6-3.3 s a batch at 1M
// records on a server whose autovacuum had analysed the table early. Measured in buffers read
// for ten groups, with 4,000 members stored.
func TestGroupMembersReadByGroup(t *testing.T) {
	t.Parallel()
	st := pgtest.NewStore(t)
	ctx := context.Background()
	insert := func(q pgx.Tx, n int, group string) error {
		_, err := q.Exec(ctx, `INSERT INTO observations (district_id, observation_id, site_id, classroom_id, teacher_id, observer_id,
			status, kind, rubric_id, rubric_version, started_at, revision, content, content_hash, updated_by, co_observation)
			SELECT 'd1', gen_random_uuid(), 's', 'c1', 't', 'o', 'submitted', 'walkthrough', 'r', 1, now(), 1, '{}', 'h', 'o',
				CASE WHEN $2 = '' THEN NULL ELSE $2 || (i / 2) END
			FROM generate_series(1, $1) AS i`, n, group)
		return err
	}
	err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO districts (district_id, name) VALUES ('d1', 'One')`); err != nil {
			return err
		}
		return insert(tx, 200, "")
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `ANALYZE observations`); err != nil {
		t.Fatal(err)
	}
	groups := make([]string, 10)
	districts := make([]string, 10)
	for i := range groups {
		groups[i], districts[i] = fmt.Sprintf("g%d", 1+i*150), "d1"
	}
	err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		if err := insert(tx, 4000, "g"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "PREPARE group_members AS "+store.GroupMembersSQL); err != nil {
			return err
		}
		// Planned for the values (the first executions of a prepared statement), and the generic
		// plan a connection may cache. EXPLAIN EXECUTE takes no parameters: the arguments are
		// literals, with no quotes in them.
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = "+mode); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) EXECUTE group_members('{"+
				strings.Join(districts, ",")+"}', '{"+strings.Join(groups, ",")+"}', '{}', false)")
			if err != nil {
				return err
			}
			plans, err := pgx.CollectRows(rows, pgx.RowTo[[]map[string]any])
			if err != nil {
				return err
			}
			top := plans[0][0]["Plan"].(map[string]any)
			if got := top["Actual Rows"].(float64); got != 20 {
				t.Errorf("%s: %v members read, want 20 (two in each of ten groups)", mode, got)
			}
			plan, err := json.MarshalIndent(top, "", "  ")
			if err != nil {
				return err
			}
			if generic := strings.Contains(string(plan), "$1"); generic != (mode == "force_generic_plan") {
				t.Errorf("%s: the plan is generic: %v, want %v\n%s", mode, generic, !generic, plan)
			}
			read := top["Shared Hit Blocks"].(float64) + top["Shared Read Blocks"].(float64)
			t.Logf("%s: %v buffers", mode, read)
			if read > 200 {
				t.Errorf("%s: the members of ten groups read %v buffers: not looked up group by group\n%s", mode, read, plan)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
