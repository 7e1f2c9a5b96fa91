package server_test

import (
	"context"
	"encoding/csv"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/sync"
)

// ---------------------------------------------------------------------------------------------
// helpers

// lesson is one observation the progress tests record: a classroom, a day, the levels of
// substance and press (0: not observed; every other dimension scores 3) and, when talk is set,
// fixed talk-move tallies over 10 discussion minutes.
type lesson struct {
	room             observation.Classroom
	when             time.Time
	substance, press int
	talk             bool
}

// lessonRecords builds valid submitted records for lessons, observed by observer.
func lessonRecords(t *testing.T, e *testenv.Env, observer observation.Principal, seed int64, ls []lesson) []observation.Record {
	t.Helper()
	rubric := observation.DefaultRubricVersion(time.Now())
	var groups []observation.StudentGroup
	for _, d := range e.Roster.Districts {
		if d.ID == observer.DistrictID {
			groups = d.Settings.StudentGroups
		}
	}
	recs := synth.New(seed).Batch(len(ls), func(i int) synth.Input {
		return synth.Input{Classroom: ls[i].room, Observer: observer, Rubric: rubric, StudentGroups: groups,
			When: ls[i].when, Kind: observation.KindFormal, Status: observation.RecordSubmitted}
	})
	for i, l := range ls {
		r := &recs[i]
		r.CoObservation = ""
		r.RecordedAt = l.when.Add(time.Hour)
		r.Scores = nil
		for _, d := range rubric.Content.Dimensions {
			level := 3
			switch d.Key {
			case "substance":
				level = l.substance
			case "press":
				level = l.press
			}
			r.Scores = append(r.Scores, observation.Score{Dimension: d.Key, Level: level, NotObserved: level == 0})
		}
		if l.talk {
			r.DiscussionMin = 10
			r.Tallies = []observation.Tally{
				{Category: "press_reasoning", Count: 2}, {Category: "press_accuracy", Count: 1}, {Category: "revoicing", Count: 3},
				{Category: "providing_evidence", Count: 2}, {Category: "making_claim", Count: 2},
			}
		}
	}
	return recs
}

// siteRooms returns the first n rostered classrooms of a site (each has its own teacher).
func siteRooms(t *testing.T, e *testenv.Env, site string, n int) []observation.Classroom {
	t.Helper()
	var out []observation.Classroom
	for _, c := range e.Roster.Classrooms {
		if c.SiteID == site && len(out) < n {
			out = append(out, c)
		}
	}
	if len(out) < n {
		t.Fatalf("site %s has %d classrooms, want %d", site, len(out), n)
	}
	return out
}

// pushAll pushes changes from a device and requires every one to be applied.
func pushAll(t *testing.T, tr *server.Transport, dev string, changes []sync.Change) {
	t.Helper()
	resp, err := tr.Push(context.Background(), sync.PushRequest{DeviceID: dev, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.Results {
		if r.Status != sync.StatusApplied {
			t.Fatalf("change %d: %+v", i, r)
		}
	}
}

// wantInvalid checks an INVALID_ARGUMENT that names field: in its BadRequest details (domain
// checks) or its message (protovalidate rules).
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	st := wantCode(t, err, codes.InvalidArgument)
	if !slices.Contains(violationsOf(st), field) && !strings.Contains(st.Message(), field) {
		t.Fatalf("%q (violations %v) does not name %s", st.Message(), violationsOf(st), field)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// wantValue checks a published cell's value and n.
func wantValue(t *testing.T, what string, c *pb.ProgressCell, value float64, n int32) {
	t.Helper()
	if c.GetSuppressed() || c.GetNoData() || c.Value == nil || c.N == nil || !near(c.GetValue(), value) || c.GetN() != n {
		t.Fatalf("%s: %v, want value %v with n %d", what, c, value, n)
	}
}

// wantSuppressed checks that a cell is withheld for reason and carries neither value nor n.
func wantSuppressed(t *testing.T, what string, c *pb.ProgressCell, reason string) {
	t.Helper()
	if !c.GetSuppressed() || c.GetReason() != reason || c.Value != nil || c.N != nil {
		t.Fatalf("%s: %v, want suppressed (%s) without value or n", what, c, reason)
	}
}

func siteOf(t *testing.T, sites []*pb.SiteProgress, id string) *pb.SiteProgress {
	t.Helper()
	for _, s := range sites {
		if s.GetSiteId() == id {
			return s
		}
	}
	t.Fatalf("no site %s among %d", id, len(sites))
	return nil
}

func dimOf(t *testing.T, ds []*pb.DimensionFigures, key string) *pb.DimensionFigures {
	t.Helper()
	for _, d := range ds {
		if d.GetSeries().GetDimension() == key {
			return d
		}
	}
	t.Fatalf("no dimension %s", key)
	return nil
}

func levelCounts(d *pb.DimensionFigures) []int32 {
	var out []int32
	for _, l := range d.GetLevels() {
		out = append(out, int32(l.GetObservations().GetValue()))
	}
	return out
}

// readCSV parses an export.
func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, body)
	}
	return rows
}

// ---------------------------------------------------------------------------------------------
// District progress end to end: sync push → aggregates → gRPC, REST JSON and CSV
