package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// fingerprintByEncodingJSON is how fingerprints were first computed, entirely through
// encoding/json; results stored since hold them.
func fingerprintByEncodingJSON(ch Change) string {
	var rec any
	if ch.Op == OpUpsert {
		r := ch.Record
		started, recorded := r.StartedAt.UTC().Format(time.RFC3339Nano), r.RecordedAt.UTC().Format(time.RFC3339Nano)
		r.StartedAt, r.RecordedAt = time.Time{}, time.Time{}
		rec = []any{r, started, recorded}
	}
	b, _ := json.Marshal([]any{ch.Op, ch.ObservationID, ch.BaseRevision, ch.Fields, rec})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestFingerprintBytes: fingerprint computes exactly the fingerprints stored with earlier results
// (else a retried change would be refused SEQ_REUSED), for every kind of change, text and time.
func TestFingerprintBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 2))
	texts := []string{"", "a", "0194f5a0-0000-7000-8000-000000000001", "<&>", `"\`, "\x00\t\n", "él", "\u2028", "\xff", "😀"}
	text := func() string { return texts[rng.IntN(len(texts))] + texts[rng.IntN(len(texts))] }
	times := []time.Time{{}, time.Date(2026, 3, 4, 9, 15, 7, 250_000_000, time.FixedZone("PDT", -7*3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(1<<33, 1)}
	for i := 0; i < 20000; i++ {
		ch := Change{Seq: int64(i), Op: []Op{OpUpsert, OpDelete, Op(text())}[rng.IntN(3)], ObservationID: text(),
			BaseRevision: rng.IntN(3) - 1}
		switch rng.IntN(3) {
		case 1:
			ch.Fields = []string{}
		case 2:
			ch.Fields = []string{text(), "scores"}
		}
		ch.Record = observation.Record{ID: text(), DistrictID: text(), Course: text(), ObserverRole: observation.Role(text()),
			RubricVersion: rng.IntN(3), StartedAt: times[rng.IntN(len(times))], RecordedAt: times[rng.IntN(len(times))],
			LessonFocus: text(), Status: observation.RecordStatus(text())}
		if rng.IntN(2) == 0 {
			ch.Record.Scores = []observation.Score{{Dimension: text(), Level: rng.IntN(5), NotObserved: rng.IntN(2) == 0, Evidence: text()}}
			ch.Record.Tallies = []observation.Tally{{Category: text(), Count: rng.IntN(9)}}
			ch.Record.Participation = []observation.ParticipationCount{{Field: text(), Option: text(), Count: 1}}
			ch.Record.Enrolment = []observation.Enrolment{{Group: text(), Count: 2}}
		}
		if got, want := fingerprint(ch), fingerprintByEncodingJSON(ch); got != want {
			t.Fatalf("change %d %+v: fingerprint %s, want %s", i, ch, got, want)
		}
	}
}

// TestFingerprintCanonical: the fingerprint hashed from a record's canonical JSON (a push's
// creates) is fingerprint's, for every text and time canonical JSON can hold.
func TestFingerprintCanonical(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 3))
	texts := []string{"", "a", "0194f5a0-0000-7000-8000-000000000001", "<&>", `"\`, "\x00\t\n", "él", "\u2028", "\xff", "😀",
		`,"started_at":"x"`, `,"recorded_at":`, `"recorded_at"`}
	text := func() string { return texts[rng.IntN(len(texts))] + texts[rng.IntN(len(texts))] }
	times := []time.Time{{}, time.Date(2026, 3, 4, 9, 15, 7, 250_000_000, time.FixedZone("PDT", -7*3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC), time.Unix(1<<33, 1), time.Date(2026, 1, 1, 0, 0, 0, 0, time.Local)}
	for i := 0; i < 20000; i++ {
		ch := Change{Seq: int64(i), Op: OpUpsert, ObservationID: text(), BaseRevision: rng.IntN(3) - 1}
		if rng.IntN(2) == 0 {
			ch.Fields = []string{text(), "scores"}
		}
		ch.Record = observation.Record{ID: text(), DistrictID: text(), Course: text(), ObserverRole: observation.Role(text()),
			RubricVersion: rng.IntN(3), StartedAt: times[rng.IntN(len(times))], RecordedAt: times[rng.IntN(len(times))],
			LessonFocus: text(), NextSteps: text(), Status: observation.RecordStatus(text())}
		if rng.IntN(2) == 0 {
			ch.Record.Scores = []observation.Score{{Dimension: text(), Level: rng.IntN(5), NotObserved: rng.IntN(2) == 0, Evidence: text()}}
			ch.Record.Tallies = []observation.Tally{{Category: text(), Count: rng.IntN(9)}}
			ch.Record.Participation = []observation.ParticipationCount{{Field: text(), Option: text(), Count: 1}}
			ch.Record.Enrolment = []observation.Enrolment{{Group: text(), Count: 2}}
		}
		content, _ := ch.Record.Canonical()
		if got, want := fingerprintCanonical(ch, content), fingerprint(ch); got != want {
			t.Fatalf("change %d %+v: fingerprint from canonical JSON %s, want %s", i, ch, got, want)
		}
	}
}
