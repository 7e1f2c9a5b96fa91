package server_test

import (
	"encoding/json"
	"strings"
	gosync "sync"
	"testing"

	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

// TestSameGoalTwice: creating a goal that exists already answers the stored goal (a retried POST,
// also many at once) and never makes a second one; the same target under another title, or an
// update that turns a goal into another's twin, answers 409 GOAL_EXISTS naming the goal.
func TestSameGoalTwice(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	da := e.Users[observation.RoleDistrictAdmin]
	tok := e.Token(t, da)
	path := "/v1/districts/" + da.DistrictID + "/goals"
	body := func(title string, target string) string {
		return `{"title":"` + title + `","dimension":"press","measure":"GOAL_MEASURE_MEAN_LEVEL","target":` + target +
			`,"target_date":"2027-06-30","baseline":{"kind":"school_year","key":"2025-26"}}`
	}
	goalID := func(r testenv.Response) string {
		t.Helper()
		var out struct {
			Goal struct {
				Goal struct {
					GoalID string `json:"goal_id"`
				} `json:"goal"`
			} `json:"goal"`
		}
		if r.Status != 200 {
			t.Fatalf("create goal: %d %s", r.Status, r.Body)
		}
		if err := json.Unmarshal([]byte(r.Body), &out); err != nil || out.Goal.Goal.GoalID == "" {
			t.Fatalf("create goal: %v %s", err, r.Body)
		}
		return out.Goal.Goal.GoalID
	}
	count := func() int {
		t.Helper()
		r := e.Do(t, "GET", path, tok, "")
		var out struct {
			Goals []json.RawMessage `json:"goals"`
		}
		if r.Status != 200 || json.Unmarshal([]byte(r.Body), &out) != nil {
			t.Fatalf("list goals: %d %s", r.Status, r.Body)
		}
		return len(out.Goals)
	}
	auditCount := func() int {
		t.Helper()
		r := e.Do(t, "GET", "/v1/districts/"+da.DistrictID+"/audit?action=goal.create", tok, "")
		if r.Status != 200 {
			t.Fatalf("audit: %d %s", r.Status, r.Body)
		}
		return strings.Count(r.Body, `"goal.create"`)
	}

	first := goalID(e.Do(t, "POST", path, tok, body("Press for reasoning", "3")))
	if again := goalID(e.Do(t, "POST", path, tok, body("Press for reasoning", "3"))); again != first {
		t.Errorf("the same goal created twice has two ids: %s, %s", first, again)
	}
	if n := count(); n != 1 {
		t.Errorf("%d goals after creating the same goal twice, want 1", n)
	}
	if n := auditCount(); n != 1 {
		t.Errorf("%d goal.create audit entries, want 1", n)
	}

	// Many at once: one goal, every caller gets its id.
	ids := make([]string, 8)
	var wg gosync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.Do(t, "POST", path, tok, body("Press at once", "3.5"))
			if r.Status == 200 {
				ids[i] = goalID(r)
			} else {
				t.Errorf("concurrent create: %d %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("concurrent creates of one goal answered different goals: %v", ids)
			break
		}
	}
	if n := count(); n != 2 {
		t.Errorf("%d goals after 8 concurrent creates of one new goal, want 2", n)
	}

	// The same target under another title: 409, naming the existing goal.
	r := e.Do(t, "POST", path, tok, body("Another name for it", "3"))
	if r.Status != 409 || !strings.Contains(r.Body, "GOAL_EXISTS") || !strings.Contains(r.Body, first) {
		t.Errorf("same goal, other title: %d %s", r.Status, r.Body)
	}
	// Updating the second goal into the first's twin: 409; the second goal is unchanged.
	r = e.Do(t, "PUT", path+"/"+ids[0], tok, body("Press for reasoning", "3"))
	if r.Status != 409 || !strings.Contains(r.Body, "GOAL_EXISTS") || !strings.Contains(r.Body, first) {
		t.Errorf("update into a twin: %d %s", r.Status, r.Body)
	}
	// A goal that differs in anything that matters is another goal.
	if other := goalID(e.Do(t, "POST", path, tok, body("Press for reasoning", "3.2"))); other == first {
		t.Error("a goal with another target answered the first goal")
	}
	if n := count(); n != 3 {
		t.Errorf("%d goals, want 3", n)
	}
}
