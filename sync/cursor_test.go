package sync

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
)

func TestDecodeCursor(t *testing.T) {
	good := cursor{From: "100:105:101,103", Issued: 1, Scope: "coach@d", Upto: "110:110:", AfterTx: "104", AfterID: "01a2030f-078b-7028-8831-2b03d64a9ae3"}
	c, err := decodeCursor(good.encodePayload())
	if err != nil || c.From != good.From || c.AfterID != good.AfterID {
		t.Fatalf("round trip: %+v %v", c, err)
	}
	if c, err := decodeCursor(""); err != nil || c.From != "" {
		t.Fatalf("empty cursor: %+v %v", c, err)
	}
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, s := range map[string]string{
		"not base64":          "!!!",
		"not json":            raw("nope"),
		"other version":       raw(`{"v":2}`),
		"snapshot syntax":     raw(`{"v":1,"f":"1:2:x"}`),
		"sql in snapshot":     raw(`{"v":1,"f":"1:2:'; drop table observations; --"}`),
		"upto without after":  raw(`{"v":1,"u":"1:2:"}`),
		"after tx not number": raw(`{"v":1,"u":"1:2:","at":"x","ai":"01a2030f-078b-7028-8831-2b03d64a9ae3"}`),
		"after id not uuid":   raw(`{"v":1,"u":"1:2:","at":"1","ai":"x"}`),
	} {
		if _, err := decodeCursor(s); observation.KindOf(err) != observation.KindInvalid {
			t.Errorf("%s: %v, want an invalid cursor", name, err)
		}
	}
}

// FuzzDecodeCursor: any payload is either refused as BAD_CURSOR or decodes to a cursor whose
// snapshots and positions are safe to hand to SQL, and that encodes back to an accepted one.
func FuzzDecodeCursor(f *testing.F) {
	for _, c := range []cursor{{}, {From: "100:105:101,103", Issued: 1, Scope: "coach@d", Own: []string{"104"}},
		{Upto: "110:110:", AfterTx: "104", AfterID: "01a2030f-078b-7028-8831-2b03d64a9ae3"}} {
		f.Add(c.encodePayload())
	}
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			if e, ok := err.(*observation.Error); !ok || e.Reason != "BAD_CURSOR" || e.Field != "cursor" {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if !snapshotText(c.From) || !snapshotText(c.Upto) || len(c.Own) > maxOwn {
			t.Fatalf("%q decoded to an unsafe cursor %+v", s, c)
		}
		if _, err := decodeCursor(c.encodePayload()); err != nil {
			t.Fatalf("%q: re-encoded cursor refused: %v", s, err)
		}
	})
}

func TestVisibleIn(t *testing.T) {
	for _, tc := range []struct {
		snap, xid string
		want      bool
	}{
		{"100:105:101,103", "99", true},
		{"100:105:101,103", "100", true},
		{"100:105:101,103", "101", false},
		{"100:105:101,103", "104", true},
		{"100:105:101,103", "105", false},
		{"100:105:", "200", false},
		{"", "1", false},
		{"100:105:", "x", false},
	} {
		if got := visibleIn(tc.snap, tc.xid); got != tc.want {
			t.Errorf("visibleIn(%q, %q) = %v, want %v", tc.snap, tc.xid, got, tc.want)
		}
	}
}

func TestWithOwnKeepsTheNewest(t *testing.T) {
	var c cursor
	for i := range maxOwn + 5 {
		c = c.withOwn(fmt.Sprint(1000 + i))
	}
	if len(c.Own) != maxOwn || c.Own[0] != fmt.Sprint(1005) || c.Own[maxOwn-1] != fmt.Sprint(1000+maxOwn+4) {
		t.Fatalf("own %v", c.Own)
	}
	if _, err := decodeCursor(c.encodePayload()); err != nil {
		t.Fatal(err)
	}
}
