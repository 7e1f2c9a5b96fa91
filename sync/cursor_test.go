package sync

import (
	"encoding/base64"
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
