package web_test

import (
	"context"
	"encoding/json"
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
		"OTHER_SITES="+string(raw), "PREVIOUS_YEAR_START="+yearStart.Format(time.DateOnly))
}
