package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
)

// TestRunNetworkKeptDatabase runs the network figures at a tiny size twice on one kept database
// (--network-db): the first run loads it, the second reuses its observations without loading, and
// both cross-checks (one service against a new service) pass. It asserts no time.
func TestRunNetworkKeptDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 600 observations")
	}
	ctx := context.Background()
	name := fmt.Sprintf("lookfor_bench_kept_%d", os.Getpid())
	admin, err := pgx.Connect(ctx, pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	defer func() {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	}()
	cfg := NetworkConfig{Districts: 2, Sites: 2, Classrooms: 3, PerDistrict: 300, Runs: 2, Warmup: 1, Seed: 3, Database: name}
	first, err := RunNetwork(ctx, pgtest.AdminURL(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if first.Observations != 600 || first.Load <= 0 {
		t.Fatalf("first run: %d observations loaded in %v, want 600 loaded", first.Observations, first.Load)
	}
	again, err := RunNetwork(ctx, pgtest.AdminURL(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if again.Observations != 600 || again.Load != 0 {
		t.Fatalf("second run: %d observations, load %v, want the 600 reused without loading", again.Observations, again.Load)
	}
	if tab := first.Table(cfg); !strings.Contains(tab, "observations/s |") || strings.Contains(tab, "kept database") {
		t.Errorf("first run's table does not give the load's rate:\n%s", tab)
	}
	if tab := again.Table(cfg); !strings.Contains(tab, "| none loaded: a kept database reused") {
		t.Errorf("second run's table does not say nothing was loaded:\n%s", tab)
	}
	cfg.PerDistrict = 400
	if _, err := RunNetwork(ctx, pgtest.AdminURL(), cfg, io.Discard); err == nil {
		t.Fatal("a kept database of another size was reused")
	}
}
