package web_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/browser"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
)

// TestApp drives the tablet app in a real Chromium against a real server (test/app.test.mjs):
// recording online and offline, amending, deleting a draft, a push whose response is lost, going
// offline mid-push, the browser killed while a push is in flight and restarted on the same
// profile, a reload during a pull, a conflict resolved side by side, a rejection fixed and
// resent, Spanish, axe-core and touch targets at tablet viewports. Then, in PostgreSQL: every
// observation the app holds is stored exactly once with the content hash the app computed, and
// the server holds nothing of the coach's that the app does not.
func TestApp(t *testing.T) {
	t.Parallel()
	e := browser.Start(t)
	state := filepath.Join(t.TempDir(), "app-state.json")
	coach := e.Users[observation.RoleCoach]
	e.Node(t, "app.test.mjs", "COACH="+coach.UserID, "DISTRICT_ADMIN="+e.Users[observation.RoleDistrictAdmin].UserID, "APP_STATE="+state)
	checkExactlyOnce(t, e, coach.UserID, state)
}

// TestAppSessionExpiry: the session ends while the tablet is offline; the app keeps recording,
// sync asks the coach to sign in again, the outbox survives, and after signing in everything is
// stored exactly once (test/app-expiry.test.mjs).
func TestAppSessionExpiry(t *testing.T) {
	t.Parallel()
	e := browser.Start(t, func(c *server.Config) { c.Web.IdleTimeout = 3 * time.Second })
	state := filepath.Join(t.TempDir(), "app-state.json")
	coach := e.Users[observation.RoleCoach]
	e.Node(t, "app-expiry.test.mjs", "COACH="+coach.UserID, "APP_STATE="+state)
	checkExactlyOnce(t, e, coach.UserID, state)
}

// appState is what the app held at the end of a script: its records with the hashes it computed
// itself, and the ids it deleted.
type appState struct {
	Records []struct {
		ID     string `json:"id"`
		Hash   string `json:"hash"`
		Status string `json:"status"`
	} `json:"records"`
	Deleted []string `json:"deleted"`
}

func checkExactlyOnce(t *testing.T, e *browser.Env, observer, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the script wrote no app state: %v", err)
	}
	var st appState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Records) == 0 {
		t.Fatal("the app holds no records")
	}
	type row struct {
		hash, status string
		deleted      bool
		copies       int
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := e.Store.Pool().Query(ctx, `
		SELECT o.observation_id::text, o.content_hash, o.status, o.deleted,
		       (SELECT count(*) FROM observations c WHERE c.observation_id = o.observation_id)
		FROM observations o WHERE o.observer_id = $1`, observer)
	if err != nil {
		t.Fatal(err)
	}
	server := map[string]row{}
	for rows.Next() {
		var id string
		var r row
		if err := rows.Scan(&id, &r.hash, &r.status, &r.deleted, &r.copies); err != nil {
			t.Fatal(err)
		}
		server[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	for _, a := range st.Records {
		held[a.ID] = true
		s, ok := server[a.ID]
		switch {
		case !ok:
			t.Errorf("observation %s is on the tablet but not on the server", a.ID)
		case s.copies != 1:
			t.Errorf("observation %s is stored %d times", a.ID, s.copies)
		case s.deleted:
			t.Errorf("observation %s is on the tablet but deleted on the server", a.ID)
		case s.hash != a.Hash:
			t.Errorf("observation %s: server content hash %s, the app computed %s", a.ID, s.hash, a.Hash)
		case s.status != a.Status:
			t.Errorf("observation %s: server status %s, app %s", a.ID, s.status, a.Status)
		}
	}
	for id, s := range server {
		if !s.deleted && !held[id] {
			t.Errorf("the server holds observation %s of %s that the app does not (recorded twice?)", id, observer)
		}
	}
	for _, id := range st.Deleted {
		if s, ok := server[id]; ok && !s.deleted {
			t.Errorf("observation %s was deleted on the tablet but is live on the server", id)
		}
	}
	t.Logf("%d observations on the tablet, %d rows of %s on the server (%d deleted on the tablet): each stored once with the app's hash",
		len(st.Records), len(server), observer, len(st.Deleted))
}
