package observation

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// randomText draws strings that exercise every branch of JSON string encoding: plain ASCII,
// characters encoding/json escapes (quotes, backslash, control characters, HTML's <>&, U+2028,
// U+2029), other non-ASCII text, invalid UTF-8 and the empty string.
func randomText(rng *rand.Rand) string {
	pieces := []string{"", "a", "Compared 3/4 & 6/8", "<area model>", "<", ">", "&", `"`, `\\`, `"quoted"`, `back\slash`, "tab\there", "new\nline",
		"\b\f\r", "\x00\x01\x1f", "\x7f", "él explicó", "日本語", "\u2028\u2029", "\xff\xfe", "\xe2\x82", "😀", "/", " "}
	var b strings.Builder
	for n := rng.IntN(5); n > 0; n-- {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()
}

func randomRecord(rng *rand.Rand) Record {
	tm := func() time.Time {
		switch rng.IntN(4) {
		case 0:
			return time.Time{}
		case 1:
			return time.Date(2026, 3, 4, 16, 15, 0, 0, time.UTC)
		case 2:
			return time.Date(2026, 3, 4, 9, 15, 7, rng.IntN(1e9), time.FixedZone("PDT", -7*3600))
		}
		return time.Unix(rng.Int64N(1<<34), int64(rng.IntN(1e9)))
	}
	num := func() int { return []int{0, 1, -1, 7, 600, 10000, 1 << 40}[rng.IntN(7)] }
	r := Record{ID: randomText(rng), DistrictID: randomText(rng), SiteID: randomText(rng), ClassroomID: randomText(rng),
		Course: randomText(rng), Grade: randomText(rng), Section: randomText(rng), TeacherID: randomText(rng),
		ObserverID: randomText(rng), ObserverRole: Role(randomText(rng)), Kind: ObservationKind(randomText(rng)),
		CoObservation: randomText(rng), RubricID: randomText(rng), RubricVersion: num(), Language: randomText(rng),
		StartedAt: tm(), DurationMin: num(), DiscussionMin: num(), LessonFocus: randomText(rng), NextSteps: randomText(rng),
		Status: RecordStatus(randomText(rng)), RecordedAt: tm()}
	switch rng.IntN(3) { // nil, empty and filled lists
	case 1:
		r.Scores, r.Tallies, r.Participation, r.Enrolment = []Score{}, []Tally{}, []ParticipationCount{}, []Enrolment{}
	case 2:
		for n := rng.IntN(4); n > 0; n-- {
			r.Scores = append(r.Scores, Score{Dimension: randomText(rng), Level: num(), NotObserved: rng.IntN(2) == 0, Evidence: randomText(rng)})
			r.Tallies = append(r.Tallies, Tally{Category: randomText(rng), Count: num()})
			r.Participation = append(r.Participation, ParticipationCount{Field: randomText(rng), Option: randomText(rng), Count: num()})
			r.Enrolment = append(r.Enrolment, Enrolment{Group: randomText(rng), Count: num()})
		}
	}
	return r
}

// TestRecordAppendJSONMatchesEncodingJSON: the hand-written encoder writes exactly the bytes of
// encoding/json for any record, so content hashes and stored content do not depend on which one
// made them.
func TestRecordAppendJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 1))
	for i := 0; i < 20000; i++ {
		r := randomRecord(rng)
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got, want)
		}
	}
	// A time encoding/json cannot encode fails both.
	r := Record{StartedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := json.Marshal(r); err == nil {
		t.Fatal("encoding/json encoded year 10000")
	}
	if _, err := r.AppendJSON(nil); err == nil {
		t.Fatal("AppendJSON encoded year 10000")
	}
}
