package server_test

import (
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const defaultID = observation.DefaultRubricID

// ---------------------------------------------------------------------------------------------
// helpers

// restStatus decodes a gateway error body ({"code", "message", "details"}) into a status.
func restStatus(t *testing.T, r testenv.Response) *status.Status {
	t.Helper()
	var sp spb.Status
	if err := protojson.Unmarshal([]byte(r.Body), &sp); err != nil {
		t.Fatalf("error body is not a status (%v): HTTP %d %q", err, r.Status, r.Body)
	}
	return status.FromProto(&sp)
}

// wantREST checks an HTTP status and, for errors, the body's gRPC code; it returns the status.
func wantREST(t *testing.T, r testenv.Response, httpStatus int, code codes.Code) *status.Status {
	t.Helper()
	if r.Status != httpStatus {
		t.Fatalf("HTTP %d, want %d; body %s", r.Status, httpStatus, r.Body)
	}
	if code == codes.OK {
		return nil
	}
	st := restStatus(t, r)
	if st.Code() != code {
		t.Fatalf("body code %d (%s), want %d (%s); body %s", st.Code(), st.Code(), code, code, r.Body)
	}
	return st
}

// wantCode checks a gRPC error's code and returns its status.
func wantCode(t *testing.T, err error, code codes.Code) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("code %s (%q), want %s", st.Code(), st.Message(), code)
	}
	return st
}

// reasonOf returns the ErrorInfo reason of a status, or "".
func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}

// violationsOf returns the BadRequest field violations of a status.
func violationsOf(st *status.Status) []string {
	var out []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

func decode(t *testing.T, body string, m proto.Message) {
	t.Helper()
	if err := protojson.Unmarshal([]byte(body), m); err != nil {
		t.Fatalf("decoding %T: %v; body %s", m, err, body)
	}
}

func mustJSON(t *testing.T, m proto.Message) string {
	t.Helper()
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// allLangContent fetches the default rubric in every language over gRPC: valid content to reuse.
func allLangContent(t *testing.T, e *testenv.Env) *pb.RubricContent {
	t.Helper()
	resp, err := pb.NewRubricServiceClient(e.GRPC).GetRubricVersion(testenv.Ctx(e.TokenFor(t, observation.RoleAdmin)),
		&pb.GetRubricVersionRequest{RubricId: defaultID, Version: "latest", Language: "*"})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetVersion().GetContent()
}

// otherDistrict returns a demo district other than the demo users' own.
func otherDistrict(t *testing.T, e *testenv.Env) string {
	t.Helper()
	home := e.Users[observation.RoleDistrictAdmin].DistrictID
	for _, d := range e.Roster.Districts {
		if d.ID != home {
			return d.ID
		}
	}
	t.Fatal("the demo roster has one district")
	return ""
}

// checkDefaultRubric checks a served default rubric against observation.DefaultRubric in lang.
func checkDefaultRubric(t *testing.T, v *pb.RubricVersion, lang string) {
	t.Helper()
	want := observation.DefaultRubric()
	if v.GetOwnerId() != observation.NetworkOwner || v.GetRubricId() != defaultID || v.GetVersion() != 1 ||
		v.GetStatus() != pb.VersionStatus_VERSION_STATUS_PUBLISHED {
		t.Errorf("got %s/%s v%d %s, want network/%s v1 published", v.GetOwnerId(), v.GetRubricId(), v.GetVersion(), v.GetStatus(), defaultID)
	}
	if v.GetContentHash() != want.Hash() {
		t.Errorf("content hash %q, want %q", v.GetContentHash(), want.Hash())
	}
	if v.GetLanguage() != lang {
		t.Errorf("language %q, want %q", v.GetLanguage(), lang)
	}
	if wantTag := `"` + want.Hash() + "." + lang + `"`; v.GetEtag() != wantTag {
		t.Errorf("etag %s, want %s", v.GetEtag(), wantTag)
	}
	c := v.GetContent()
	var keys []string
	for _, d := range c.GetDimensions() {
		keys = append(keys, d.GetKey())
		if len(d.GetLevels()) != 4 {
			t.Errorf("dimension %s has %d levels, want 4", d.GetKey(), len(d.GetLevels()))
		}
		for i, l := range d.GetLevels() {
			if l.GetLevel() != int32(i+1) {
				t.Errorf("dimension %s level[%d] = %d", d.GetKey(), i, l.GetLevel())
			}
		}
	}
	if wantKeys := []string{"substance", "participation", "press", "explanation", "uptake", "ownership"}; !slices.Equal(keys, wantKeys) {
		t.Errorf("dimension keys %v, want %v", keys, wantKeys)
	}
	if c.GetMinLevel() != 1 || c.GetMaxLevel() != 4 || c.GetProficiencyLevel() != 3 {
		t.Errorf("levels %d..%d proficient %d, want 1..4 proficient 3", c.GetMinLevel(), c.GetMaxLevel(), c.GetProficiencyLevel())
	}
	if c.GetNotObserved().GetCode() != "NO" {
		t.Errorf("not-observed code %q, want NO", c.GetNotObserved().GetCode())
	}
	if n := len(c.GetTallyCategories()); n != 10 {
		t.Errorf("%d tally categories, want 10", n)
	}
	var pkeys, wantP []string
	for _, f := range c.GetParticipationFields() {
		pkeys = append(pkeys, f.GetKey())
	}
	for _, f := range want.Participation {
		wantP = append(wantP, f.Key)
	}
	if len(wantP) == 0 || !slices.Equal(pkeys, wantP) {
		t.Errorf("participation fields %v, want %v", pkeys, wantP)
	}
	if !slices.Equal(c.GetLanguages(), []string{"en", "es"}) {
		t.Errorf("languages %v", c.GetLanguages())
	}
	// Texts: one language, or both for "*".
	wantText := func(what string, got map[string]string, tx observation.Text) {
		t.Helper()
		var w map[string]string
		if lang == "*" {
			w = map[string]string(tx)
		} else {
			w = map[string]string{lang: tx[lang]}
		}
		if len(got) != len(w) {
			t.Errorf("%s = %v, want %v", what, got, w)
			return
		}
		for k, s := range w {
			if got[k] != s {
				t.Errorf("%s[%s] = %q, want %q", what, k, got[k], s)
			}
		}
	}
	wantText("title", c.GetTitle(), want.Title)
	wantText("dimensions[0].title", c.GetDimensions()[0].GetTitle(), want.Dimensions[0].Title)
	wantText("dimensions[5].levels[3].descriptor", c.GetDimensions()[5].GetLevels()[3].GetDescriptor_(), want.Dimensions[5].Levels[3].Descriptor)
	wantText("tally_categories[9].title", c.GetTallyCategories()[9].GetTitle(), want.TallyCategories[9].Title)
	wantText("not_observed.label", c.GetNotObserved().GetLabel(), want.NotObserved.Label)
}
