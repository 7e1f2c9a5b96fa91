package server_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
)

// A record crosses the wire and back unchanged, its lists' nil-ness included: an empty list
// comes back nil, whose canonical JSON (null) the content hash covers, and a full one with
// every element.
func TestRecordThroughTheWireIsTheSame(t *testing.T) {
	roster := demo.Network()
	coach := demo.Principals(roster)[0].Principal
	rubric := observation.DefaultRubricVersion(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	full := synth.New(3).Record(synth.Input{Classroom: roster.Classrooms[0], Observer: coach, Rubric: rubric,
		StudentGroups: roster.Districts[0].Settings.StudentGroups, When: time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)})
	if len(full.Scores) == 0 || len(full.Tallies) == 0 || len(full.Participation) == 0 || len(full.Enrolment) == 0 {
		t.Fatal("the generated record has an empty list")
	}
	bare := full
	bare.Scores, bare.Tallies, bare.Participation, bare.Enrolment = nil, nil, nil, nil
	for _, r := range []observation.Record{full, bare} {
		back := server.RecordFromPB(server.RecordToPB(r))
		if !reflect.DeepEqual(back, r) {
			t.Fatalf("the record came back changed:\n got %+v\nwant %+v", back, r)
		}
		if back.Hash() != r.Hash() {
			t.Fatalf("the record's content hash changed on the way")
		}
	}
}
