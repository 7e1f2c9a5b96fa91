package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/browser"
	"github.com/lookfor-edu/lookfor/internal/seedgen"
	"github.com/lookfor-edu/lookfor/observation"
)

// TestPages drives the site, district and network pages in a real browser for a principal, a
// coach, a district admin and a network analyst over several periods and both languages, on the
// demo network with observations loaded as `make run` loads them (over two school years, so
// trends, changes, partial and empty periods all show). See test/pages.test.mjs.
func TestPages(t *testing.T) {
	t.Parallel()
	e := browser.Start(t)
	ctx := context.Background()
	rv, err := e.Store.GetRubricVersion(ctx, observation.DefaultRubricID, 1)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	y := now.Year() - 1
	if now.Month() < time.August {
		y--
	}
	yearStart := time.Date(y, time.August, 1, 0, 0, 0, 0, time.UTC) // the previous school year's start
	// The previous school year, and this one so far (none on its first days: the pages then show
	// empty periods, which the script checks as well).
	for i, start := range []time.Time{yearStart, yearStart.AddDate(1, 0, 0)} {
		plan, err := seedgen.New(e.Roster, rv, int64(i+1), 2500, start, now)
		if err != nil {
			if i == 0 {
				t.Fatal(err)
			}
			continue
		}
		if _, err := plan.Load(ctx, e.Store, seedgen.LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A network admin publishes a second version of the rubric, through the API, that changes
	// the meaning of its last dimension (not comparable: a new series). Lessons scored on it from
	// the previous school year's third term on (next to version 1's) make the pages draw the
	// break: a second line in that dimension's trend, "not comparable" as its change.
	newDim := publishNotComparable(t, e, observation.DefaultRubricID)
	rv2, err := e.Store.GetRubricVersion(ctx, observation.DefaultRubricID, 2)
	if err != nil {
		t.Fatal(err)
	}
	t3 := yearStart.AddDate(0, 8, 0) // the third term of the previous school year (April)
	plan, err := seedgen.New(e.Roster, rv2, 3, 600, t3, yearStart.AddDate(0, 10, 14))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Load(ctx, e.Store, seedgen.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	p := e.Users[observation.RolePrincipal]
	// Every site the principal must never see: names and ids, across the network.
	var others []string
	for _, s := range e.Roster.Sites {
		if !slices.Contains(p.SiteIDs, s.ID) {
			others = append(others, s.ID, s.Name)
		}
	}
	raw, _ := json.Marshal(others)
	e.Node(t, "pages.test.mjs",
		"PRINCIPAL="+p.UserID, "PRINCIPAL_SITE="+p.SiteIDs[0], "DISTRICT="+p.DistrictID,
		"COACH="+e.Users[observation.RoleCoach].UserID,
		"DISTRICT_ADMIN="+e.Users[observation.RoleDistrictAdmin].UserID,
		"ANALYST="+e.Users[observation.RoleNetworkAnalyst].UserID,
		"OTHER_SITES="+string(raw), "PREVIOUS_YEAR_START="+yearStart.Format(time.DateOnly), "NEW_SERIES_DIMENSION="+newDim)
}

// publishNotComparable creates, edits and publishes the next version of a rubric over REST as
// the network admin, with its last dimension marked not comparable, and returns that
// dimension's key.
func publishNotComparable(t *testing.T, e *browser.Env, rubricID string) string {
	t.Helper()
	tok := e.TokenFor(t, observation.RoleAdmin)
	call := func(method, path, body string) map[string]any {
		t.Helper()
		r := e.Do(t, method, path, tok, body)
		var out map[string]any
		if r.Status != 200 || json.Unmarshal([]byte(r.Body), &out) != nil {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		return out
	}
	draft := call("POST", "/v1/rubrics/"+rubricID+"/versions", "{}")["version"].(map[string]any)
	version := fmt.Sprint(draft["version"])
	content := draft["content"].(map[string]any)
	dims := content["dimensions"].([]any)
	last := dims[len(dims)-1].(map[string]any)
	last["not_comparable"] = true
	body, _ := json.Marshal(map[string]any{"content": content})
	call("PUT", "/v1/rubrics/"+rubricID+"/versions/"+version, string(body))
	call("POST", "/v1/rubrics/"+rubricID+"/versions/"+version+":publish", "{}")
	if version != "2" {
		t.Fatalf("published version %s, want 2", version)
	}
	return last["key"].(string)
}
