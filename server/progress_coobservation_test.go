package server_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"

	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

// TestCoObservedLessonCountsOnceOverREST records one lesson co-observed by a coach and the
// district admin, reads it over REST, then deletes the coach's record: the lesson counts once in
// coverage and in the classroom view (the first-submitted record's scores), is one calibration
// pair, and after the deletion counts once with the partner's scores and pairs with nobody.
func TestCoObservedLessonCountsOnceOverREST(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach, da := e.Users[observation.RoleCoach], e.Users[observation.RoleDistrictAdmin]
	if coach.DistrictID != da.DistrictID || len(coach.SiteIDs) == 0 {
		t.Fatalf("the demo coach %+v and district admin %+v do not share a district", coach, da)
	}
	district, site := coach.DistrictID, coach.SiteIDs[0]
	room := siteRooms(t, e, site, 1)[0]
	room0, siteID := room.ID, site
	when := time.Now().UTC().AddDate(0, 0, -2).Truncate(time.Hour)
	first := lessonRecords(t, e, coach, 41, []lesson{{room: room, when: when, substance: 2, press: 3, talk: true}})[0]
	partner := lessonRecords(t, e, da, 42, []lesson{{room: room, when: when.Add(5 * time.Minute), substance: 4, press: 1, talk: true}})[0]
	for _, r := range []*observation.Record{&first, &partner} {
		r.Kind, r.CoObservation = observation.KindCalibration, "rest-lesson-1"
	}
	coachTr, coachDev := e.Device(t, coach)
	daTr, daDev := e.Device(t, da)
	pushAll(t, coachTr, coachDev, testenv.Changes(1, first))
	pushAll(t, daTr, daDev, testenv.Changes(1, partner))

	query := "?" + url.Values{"period.kind": {"month"}, "period.key": {when.Format("2006-01")}}.Encode()
	coachTok, daTok := e.Token(t, coach), e.Token(t, da)
	classroom := func(what string) *pb.ClassroomProgress {
		t.Helper()
		r := e.Do(t, "GET", fmt.Sprintf("/v1/districts/%s/sites/%s/progress:classrooms%s", district, site, query), coachTok, "")
		wantREST(t, r, 200, codes.OK)
		var resp pb.GetClassroomProgressResponse
		decode(t, r.Body, &resp)
		for _, c := range resp.GetClassrooms() {
			if c.GetClassroomId() == room.ID {
				return c
			}
		}
		t.Fatalf("%s: classroom %s is not in the view", what, room.ID)
		return nil
	}
	// coverage returns the classroom's observations (a teacher-level row, which the site's coach
	// reads) and the site's (which the district admin reads).
	coverage := func(what string) (int32, int32) {
		t.Helper()
		var rows [2]pb.GetCoverageResponse
		for i, tok := range []string{coachTok, daTok} {
			r := e.Do(t, "GET", fmt.Sprintf("/v1/districts/%s/progress:coverage%s", district, query), tok, "")
			wantREST(t, r, 200, codes.OK)
			decode(t, r.Body, &rows[i])
		}
		room, site := int32(-1), int32(-1)
		for _, c := range rows[0].GetClassrooms() {
			if c.GetClassroomId() == room0 {
				room = c.GetObservations()
			}
		}
		for _, s := range rows[1].GetSites() {
			if s.GetSiteId() == siteID {
				site = s.GetObservations()
			}
		}
		if room < 0 || site < 0 {
			t.Fatalf("%s: classroom %s or site %s is not in the coverage", what, room0, siteID)
		}
		return room, site
	}
	lessons := func() int32 {
		t.Helper()
		r := e.Do(t, "GET", fmt.Sprintf("/v1/districts/%s/progress:calibration%s", district, query), daTok, "")
		wantREST(t, r, 200, codes.OK)
		var resp pb.GetCalibrationResponse
		decode(t, r.Body, &resp)
		return resp.GetLessons()
	}

	c := classroom("both submitted")
	if c.GetObservations() != 1 || !near(dimOf(t, c.GetDimensions(), "substance").GetMeanLevel().GetValue(), 2) {
		t.Fatalf("a co-observed lesson: %d observations, substance %v; want 1 with the first-submitted record's level 2",
			c.GetObservations(), dimOf(t, c.GetDimensions(), "substance").GetMeanLevel())
	}
	if r, s := coverage("both submitted"); r != 1 || s != 1 {
		t.Fatalf("coverage counts the co-observed lesson %d times in its classroom and %d in its site, want once", r, s)
	}
	if n := lessons(); n != 1 {
		t.Fatalf("calibration: %d pairs, want 1", n)
	}

	resp, err := coachTr.Push(t.Context(), sync.PushRequest{DeviceID: coachDev,
		Changes: []sync.Change{{Seq: 2, Op: sync.OpDelete, ObservationID: first.ID, BaseRevision: 1}}})
	if err != nil || resp.Results[0].Status != sync.StatusApplied {
		t.Fatalf("delete: %v %+v", err, resp)
	}
	c = classroom("first deleted")
	if c.GetObservations() != 1 || !near(dimOf(t, c.GetDimensions(), "substance").GetMeanLevel().GetValue(), 4) {
		t.Fatalf("after the first record's deletion: %d observations, substance %v; want 1 with the partner's level 4",
			c.GetObservations(), dimOf(t, c.GetDimensions(), "substance").GetMeanLevel())
	}
	if r, s := coverage("first deleted"); r != 1 || s != 1 {
		t.Fatalf("after the first record's deletion coverage counts %d observations in the classroom and %d in the site, want 1", r, s)
	}
	if n := lessons(); n != 0 {
		t.Fatalf("after a partner's deletion: %d calibration pairs, want 0", n)
	}
}
