package export

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
)

func TestAuthorize(t *testing.T) {
	for _, c := range []struct {
		p    observation.Principal
		want observation.Kind // 0: allowed
	}{
		{observation.Principal{UserID: "a", Role: observation.RoleDistrictAdmin, DistrictID: "d1"}, 0},
		{observation.Principal{UserID: "n", Role: observation.RoleAdmin}, 0},
		{observation.Principal{UserID: "a2", Role: observation.RoleDistrictAdmin, DistrictID: "d2"}, observation.KindNotFound},
		{observation.Principal{UserID: "c", Role: observation.RoleCoach, DistrictID: "d1", SiteIDs: []string{"s"}}, observation.KindPermissionDenied},
		{observation.Principal{UserID: "p", Role: observation.RolePrincipal, DistrictID: "d2"}, observation.KindNotFound},
		{observation.Principal{UserID: "an", Role: observation.RoleNetworkAnalyst}, observation.KindNotFound},
	} {
		err := Authorize(c.p, "d1")
		var e *observation.Error
		switch {
		case c.want == 0 && err != nil:
			t.Errorf("%s (%s): %v, want allowed", c.p.UserID, c.p.Role, err)
		case c.want != 0 && (!errors.As(err, &e) || e.Kind != c.want):
			t.Errorf("%s (%s): %v, want kind %v", c.p.UserID, c.p.Role, err, c.want)
		}
	}
}

func TestCSVRecord(t *testing.T) {
	cols := []string{"a", "b", "c", "d", "e", "f"}
	rec := make([]string, len(cols))
	row := `{"a":"=HYPERLINK(\"x\")","b":null,"c":-3.5,"d":{"k":[1,"two"]},"e":true,"f":"line\nbreak"}`
	if err := csvRecord(json.RawMessage(row), cols, rec); err != nil {
		t.Fatal(err)
	}
	want := []string{`'=HYPERLINK("x")`, "", "-3.5", `{"k":[1,"two"]}`, "true", "line\nbreak"}
	for i := range want {
		if rec[i] != want[i] {
			t.Errorf("%s: %q, want %q", cols[i], rec[i], want[i])
		}
	}
}

// archive builds an in-memory zip with the given files.
func archive(t testing.TB, files map[string][]byte) *zip.Reader {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for name, b := range files {
		f, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.Write(b)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func manifest(after, next string, complete bool) []byte {
	b, _ := json.Marshal(Manifest{Format: Format, FormatVersion: FormatVersion, DistrictID: "d1", SchemaVersion: 8,
		After: after, NextAfter: next, Through: next, Complete: complete})
	return b
}

func TestCheckArchivesSequence(t *testing.T) {
	const id = "01a0eebc-4130-71bf-ad22-35cee68ada3d"
	first := Archive{Name: "1.zip", Zip: archive(t, map[string][]byte{ManifestName: manifest("", id, false)})}
	last := Archive{Name: "2.zip", Zip: archive(t, map[string][]byte{ManifestName: manifest(id, "", true)})}
	whole := Archive{Name: "all.zip", Zip: archive(t, map[string][]byte{ManifestName: manifest("", "", true)})}
	bare := Archive{Name: "x.zip", Zip: archive(t, map[string][]byte{"sites.jsonl": []byte("{}\n")})}
	for _, c := range []struct {
		name   string
		in     []Archive
		reason string
	}{
		{"in order", []Archive{first, last}, ""},
		{"one archive", []Archive{whole}, ""},
		{"last missing", []Archive{first}, "INCOMPLETE"},
		{"first missing", []Archive{last}, "NOT_FIRST"},
		{"after a complete one", []Archive{whole, last}, "OUT_OF_ORDER"},
		{"not an export", []Archive{bare}, "NOT_AN_EXPORT"},
	} {
		_, err := checkArchives(c.in)
		var e *observation.Error
		switch {
		case c.reason == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.reason != "" && (!errors.As(err, &e) || e.Reason != c.reason):
			t.Errorf("%s: %v, want %s", c.name, err, c.reason)
		}
	}
}

// FuzzCheckArchives feeds arbitrary manifests: every one is accepted or refused as invalid
// input with a reason, never a panic or another kind of error.
func FuzzCheckArchives(f *testing.F) {
	f.Add(manifest("", "", true))
	f.Add(manifest("", "01a0eebc-4130-71bf-ad22-35cee68ada3d", false))
	f.Add([]byte(`{"format":"lookfor.district-export","format_version":1,"district_id":"../x"}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a := Archive{Name: "f.zip", Zip: archive(t, map[string][]byte{ManifestName: b})}
		_, err := checkArchives([]Archive{a})
		var e *observation.Error
		if err != nil && (!errors.As(err, &e) || e.Kind != observation.KindInvalid || e.Reason == "") {
			t.Fatalf("%q: %v (%T)", b, err, err)
		}
	})
}
