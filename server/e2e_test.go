package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
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

// ---------------------------------------------------------------------------------------------
// 1. rubric fetch

func TestRubricFetchBothTransports(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tok := e.TokenFor(t, observation.RoleCoach)
	rc := pb.NewRubricServiceClient(e.GRPC)
	want := observation.DefaultRubric()
	if want.Title["es"] == want.Title["en"] || !strings.Contains(want.Title["es"], "matemáticas") {
		t.Fatalf("the default rubric's Spanish title is %q", want.Title["es"])
	}

	for _, version := range []string{"latest", "1"} {
		for _, lang := range []string{"", "en", "es", "*"} {
			wantLang := lang
			if wantLang == "" {
				wantLang = "en"
			}
			t.Run(fmt.Sprintf("v=%s/lang=%q", version, lang), func(t *testing.T) {
				g, err := rc.GetRubricVersion(testenv.Ctx(tok), &pb.GetRubricVersionRequest{RubricId: defaultID, Version: version, Language: lang})
				if err != nil {
					t.Fatal(err)
				}
				if g.GetNotModified() || g.GetEtag() != g.GetVersion().GetEtag() {
					t.Errorf("grpc: not_modified %v, etag %q vs version etag %q", g.GetNotModified(), g.GetEtag(), g.GetVersion().GetEtag())
				}
				checkDefaultRubric(t, g.GetVersion(), wantLang)

				path := "/v1/rubrics/" + defaultID + "/versions/" + version
				if lang != "" {
					path += "?language=" + strings.ReplaceAll(lang, "*", "%2A")
				}
				r := e.Do(t, "GET", path, tok, "")
				wantREST(t, r, http.StatusOK, codes.OK)
				var h pb.GetRubricVersionResponse
				decode(t, r.Body, &h)
				checkDefaultRubric(t, h.GetVersion(), wantLang)
				if h.GetVersion().GetContentHash() != g.GetVersion().GetContentHash() {
					t.Errorf("content hash differs: REST %s, gRPC %s", h.GetVersion().GetContentHash(), g.GetVersion().GetContentHash())
				}
				if !proto.Equal(h.GetVersion().GetContent(), g.GetVersion().GetContent()) {
					t.Errorf("content differs between REST and gRPC")
				}
			})
		}
	}

	t.Run("Accept-Language header", func(t *testing.T) {
		r := e.Do(t, "GET", "/v1/rubrics/"+defaultID+"/versions/latest", tok, "", "Accept-Language: es-MX")
		wantREST(t, r, http.StatusOK, codes.OK)
		var h pb.GetRubricVersionResponse
		decode(t, r.Body, &h)
		checkDefaultRubric(t, h.GetVersion(), "es")
		if got := h.GetVersion().GetContent().GetTitle()["es"]; got != want.Title["es"] || got == want.Title["en"] {
			t.Errorf("title %q, want the Spanish %q", got, want.Title["es"])
		}
		// An explicit language wins over the header.
		r = e.Do(t, "GET", "/v1/rubrics/"+defaultID+"/versions/latest?language=en", tok, "", "Accept-Language: es-MX")
		decode(t, r.Body, &h)
		checkDefaultRubric(t, h.GetVersion(), "en")
		// A header naming only unsupported languages falls back to English.
		r = e.Do(t, "GET", "/v1/rubrics/"+defaultID+"/versions/latest", tok, "", "Accept-Language: fr-FR, de;q=0.5")
		wantREST(t, r, http.StatusOK, codes.OK)
		decode(t, r.Body, &h)
		checkDefaultRubric(t, h.GetVersion(), "en")
	})

	t.Run("accept-language metadata", func(t *testing.T) {
		g, err := rc.GetRubricVersion(testenv.Ctx(tok, "accept-language", "es-419,en;q=0.5"), &pb.GetRubricVersionRequest{RubricId: defaultID, Version: "latest"})
		if err != nil {
			t.Fatal(err)
		}
		checkDefaultRubric(t, g.GetVersion(), "es")
	})

	t.Run("unsupported explicit language", func(t *testing.T) {
		_, err := rc.GetRubricVersion(testenv.Ctx(tok), &pb.GetRubricVersionRequest{RubricId: defaultID, Version: "latest", Language: "fr"})
		st := wantCode(t, err, codes.InvalidArgument)
		if reasonOf(st) != observation.ReasonUnsupportedLanguage || !slices.Contains(violationsOf(st), "language") {
			t.Errorf("reason %q, violations %v", reasonOf(st), violationsOf(st))
		}
		r := e.Do(t, "GET", "/v1/rubrics/"+defaultID+"/versions/latest?language=fr", tok, "")
		wantREST(t, r, http.StatusBadRequest, codes.InvalidArgument)
	})
}

// ---------------------------------------------------------------------------------------------
// 2. ETag

func TestRubricETag(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tok := e.TokenFor(t, observation.RolePrincipal)
	hash := observation.DefaultRubric().Hash()
	etagEN, etagES := `"`+hash+`.en"`, `"`+hash+`.es"`
	path := "/v1/rubrics/" + defaultID + "/versions/latest"

	t.Run("REST", func(t *testing.T) {
		r := e.Do(t, "GET", path, tok, "")
		wantREST(t, r, http.StatusOK, codes.OK)
		var h pb.GetRubricVersionResponse
		decode(t, r.Body, &h)
		if got := r.Header.Get("ETag"); got != etagEN || h.GetEtag() != etagEN || h.GetVersion().GetEtag() != etagEN {
			t.Fatalf("ETag header %q, body etag %q, version etag %q; want %q", got, h.GetEtag(), h.GetVersion().GetEtag(), etagEN)
		}

		for _, inm := range []string{etagEN, `"other", W/` + etagEN, "*"} {
			r = e.Do(t, "GET", path, tok, "", "If-None-Match: "+inm)
			if r.Status != http.StatusNotModified || r.Body != "" || r.Header.Get("ETag") != etagEN {
				t.Errorf("If-None-Match %s: HTTP %d, ETag %q, body %q; want 304, %s, empty", inm, r.Status, r.Header.Get("ETag"), r.Body, etagEN)
			}
		}
		// Version 1 is the same representation as latest.
		r = e.Do(t, "GET", "/v1/rubrics/"+defaultID+"/versions/1", tok, "", "If-None-Match: "+etagEN)
		if r.Status != http.StatusNotModified {
			t.Errorf("version 1 with the latest ETag: HTTP %d", r.Status)
		}

		// The Spanish representation has another ETag: the English copy is stale for it.
		r = e.Do(t, "GET", path+"?language=es", tok, "", "If-None-Match: "+etagEN)
		wantREST(t, r, http.StatusOK, codes.OK)
		decode(t, r.Body, &h)
		if r.Header.Get("ETag") != etagES || h.GetEtag() != etagES || h.GetVersion() == nil {
			t.Errorf("es with the en ETag: ETag %q, body etag %q, version nil %v; want %s and a body", r.Header.Get("ETag"), h.GetEtag(), h.GetVersion() == nil, etagES)
		}
		r = e.Do(t, "GET", path, tok, "", "If-None-Match: "+etagES)
		wantREST(t, r, http.StatusOK, codes.OK)
		r = e.Do(t, "GET", path, tok, "", "If-None-Match: "+etagES, "Accept-Language: es")
		if r.Status != http.StatusNotModified || r.Header.Get("ETag") != etagES {
			t.Errorf("Accept-Language es with the es ETag: HTTP %d, ETag %q", r.Status, r.Header.Get("ETag"))
		}
	})

	t.Run("gRPC", func(t *testing.T) {
		rc := pb.NewRubricServiceClient(e.GRPC)
		var md metadata.MD
		g, err := rc.GetRubricVersion(testenv.Ctx(tok), &pb.GetRubricVersionRequest{RubricId: defaultID, Version: "latest"}, grpc.Header(&md))
		if err != nil {
			t.Fatal(err)
		}
		if g.GetEtag() != etagEN || g.GetNotModified() || g.GetVersion() == nil {
			t.Fatalf("etag %q not_modified %v", g.GetEtag(), g.GetNotModified())
		}
		if got := md.Get("etag"); len(got) != 1 || got[0] != etagEN {
			t.Errorf("etag header metadata %v, want [%s]", got, etagEN)
		}

		md = nil
		g, err = rc.GetRubricVersion(testenv.Ctx(tok), &pb.GetRubricVersionRequest{RubricId: defaultID, Version: "latest", IfNoneMatch: etagEN}, grpc.Header(&md))
		if err != nil {
			t.Fatal(err)
		}
		if !g.GetNotModified() || g.GetVersion() != nil || g.GetEtag() != etagEN {
			t.Errorf("if_none_match field: not_modified %v, version %v, etag %q", g.GetNotModified(), g.GetVersion(), g.GetEtag())
		}
		if got := md.Get("etag"); len(got) != 1 || got[0] != etagEN {
			t.Errorf("etag header metadata on not-modified %v", got)
		}

		g, err = rc.GetRubricVersion(testenv.Ctx(tok, "if-none-match", etagEN), &pb.GetRubricVersionRequest{RubricId: defaultID, Version: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if !g.GetNotModified() || g.GetVersion() != nil {
			t.Errorf("if-none-match metadata: not_modified %v, version nil %v", g.GetNotModified(), g.GetVersion() == nil)
		}

		g, err = rc.GetRubricVersion(testenv.Ctx(tok), &pb.GetRubricVersionRequest{RubricId: defaultID, Version: "latest", Language: "es", IfNoneMatch: etagEN})
		if err != nil {
			t.Fatal(err)
		}
		if g.GetNotModified() || g.GetVersion() == nil || g.GetEtag() != etagES {
			t.Errorf("es with the en etag: not_modified %v, etag %q", g.GetNotModified(), g.GetEtag())
		}
	})
}

// ---------------------------------------------------------------------------------------------
// 3. publish immutability

func TestRubricLifecycleREST(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	admin := e.Users[observation.RoleDistrictAdmin]
	tok := e.Token(t, admin)
	const id = "riverbend-discourse-rest"

	r := e.Do(t, "GET", "/v1/rubrics/"+defaultID+"/versions/latest?language=*", tok, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	var fetched struct {
		Version struct {
			Content json.RawMessage `json:"content"`
		} `json:"version"`
	}
	if err := json.Unmarshal([]byte(r.Body), &fetched); err != nil || len(fetched.Version.Content) < 100 {
		t.Fatalf("no content in %s (%v)", r.Body, err)
	}
	content := string(fetched.Version.Content)

	r = e.Do(t, "POST", "/v1/rubrics", tok, fmt.Sprintf(`{"owner_id":%q,"rubric_id":%q,"content":%s}`, admin.DistrictID, id, content))
	wantREST(t, r, http.StatusOK, codes.OK)
	var created pb.CreateRubricResponse
	decode(t, r.Body, &created)
	v := created.GetVersion()
	if v.GetOwnerId() != admin.DistrictID || v.GetRubricId() != id || v.GetVersion() != 1 ||
		v.GetStatus() != pb.VersionStatus_VERSION_STATUS_DRAFT || v.GetCreatedBy() != admin.UserID {
		t.Fatalf("created %s/%s v%d %s by %s", v.GetOwnerId(), v.GetRubricId(), v.GetVersion(), v.GetStatus(), v.GetCreatedBy())
	}
	// pb ↔ domain conversion is lossless: the copy hashes like the original.
	if v.GetContentHash() != observation.DefaultRubric().Hash() {
		t.Errorf("copied content hash %s, want the default rubric's %s", v.GetContentHash(), observation.DefaultRubric().Hash())
	}

	// A district rubric's draft is not served as "latest".
	r = e.Do(t, "GET", "/v1/rubrics/"+id+"/versions/latest", tok, "")
	wantREST(t, r, http.StatusNotFound, codes.NotFound)

	// Edit the draft: a new English title.
	var cm map[string]any
	if err := json.Unmarshal(fetched.Version.Content, &cm); err != nil {
		t.Fatal(err)
	}
	cm["title"].(map[string]any)["en"] = "Riverbend Discourse Look-fors"
	edited, _ := json.Marshal(cm)
	wantContent := observation.DefaultRubric()
	wantContent.Title["en"] = "Riverbend Discourse Look-fors"

	// A stale expected hash is refused.
	r = e.Do(t, "PUT", "/v1/rubrics/"+id+"/versions/1", tok, fmt.Sprintf(`{"content":%s,"expected_content_hash":"%064d"}`, edited, 0))
	if st := wantREST(t, r, http.StatusBadRequest, codes.FailedPrecondition); reasonOf(st) != "RUBRIC_VERSION_CHANGED" {
		t.Errorf("stale hash: reason %q", reasonOf(st))
	}
	r = e.Do(t, "PUT", "/v1/rubrics/"+id+"/versions/1", tok, fmt.Sprintf(`{"content":%s,"expected_content_hash":%q}`, edited, v.GetContentHash()))
	wantREST(t, r, http.StatusOK, codes.OK)
	var updated pb.UpdateDraftVersionResponse
	decode(t, r.Body, &updated)
	if got := updated.GetVersion().GetContentHash(); got != wantContent.Hash() {
		t.Errorf("updated hash %s, want %s", got, wantContent.Hash())
	}
	if got := updated.GetVersion().GetContent().GetTitle()["en"]; got != "Riverbend Discourse Look-fors" {
		t.Errorf("updated title %q", got)
	}

	r = e.Do(t, "POST", "/v1/rubrics/"+id+"/versions/1:publish", tok, "{}")
	wantREST(t, r, http.StatusOK, codes.OK)
	var pub pb.PublishVersionResponse
	decode(t, r.Body, &pub)
	if pub.GetVersion().GetStatus() != pb.VersionStatus_VERSION_STATUS_PUBLISHED || pub.GetVersion().GetPublishTime() == nil ||
		pub.GetVersion().GetContentHash() != wantContent.Hash() {
		t.Fatalf("published: %s at %v hash %s", pub.GetVersion().GetStatus(), pub.GetVersion().GetPublishTime(), pub.GetVersion().GetContentHash())
	}
	// Publishing again is an idempotent no-op.
	r = e.Do(t, "POST", "/v1/rubrics/"+id+"/versions/1:publish", tok, "{}")
	wantREST(t, r, http.StatusOK, codes.OK)

	// Now latest is served, to a coach of the district too, with an ETag of the new hash.
	r = e.Do(t, "GET", "/v1/rubrics/"+id+"/versions/latest", e.TokenFor(t, observation.RoleCoach), "")
	wantREST(t, r, http.StatusOK, codes.OK)
	if want := `"` + wantContent.Hash() + `.en"`; r.Header.Get("ETag") != want {
		t.Errorf("ETag %q, want %q", r.Header.Get("ETag"), want)
	}

	r = e.Do(t, "PUT", "/v1/rubrics/"+id+"/versions/1", tok, fmt.Sprintf(`{"content":%s}`, content))
	st := wantREST(t, r, http.StatusBadRequest, codes.FailedPrecondition)
	if !strings.Contains(st.Message(), "can no longer be edited") || reasonOf(st) != "RUBRIC_VERSION_IMMUTABLE" {
		t.Errorf("editing a published version: %q (reason %q)", st.Message(), reasonOf(st))
	}
	// The published content is unchanged.
	r = e.Do(t, "GET", "/v1/rubrics/"+id+"/versions/1", tok, "")
	var got pb.GetRubricVersionResponse
	decode(t, r.Body, &got)
	if got.GetVersion().GetContentHash() != wantContent.Hash() {
		t.Errorf("published content changed: %s", got.GetVersion().GetContentHash())
	}

	r = e.Do(t, "POST", "/v1/rubrics/"+id+"/versions/1:retire", tok, "{}")
	wantREST(t, r, http.StatusOK, codes.OK)
	var ret pb.RetireVersionResponse
	decode(t, r.Body, &ret)
	if ret.GetVersion().GetStatus() != pb.VersionStatus_VERSION_STATUS_RETIRED || ret.GetVersion().GetRetireTime() == nil {
		t.Errorf("retired: %s at %v", ret.GetVersion().GetStatus(), ret.GetVersion().GetRetireTime())
	}
	r = e.Do(t, "GET", "/v1/rubrics/"+id+"/versions/latest", tok, "")
	wantREST(t, r, http.StatusNotFound, codes.NotFound)
	r = e.Do(t, "PUT", "/v1/rubrics/"+id+"/versions/1", tok, fmt.Sprintf(`{"content":%s}`, content))
	st = wantREST(t, r, http.StatusBadRequest, codes.FailedPrecondition)
	if !strings.Contains(st.Message(), "can no longer be edited") {
		t.Errorf("editing a retired version: %q", st.Message())
	}
	r = e.Do(t, "POST", "/v1/rubrics/"+id+"/versions/1:publish", tok, "{}")
	if st := wantREST(t, r, http.StatusBadRequest, codes.FailedPrecondition); reasonOf(st) != "RUBRIC_VERSION_RETIRED" {
		t.Errorf("republishing a retired version: reason %q", reasonOf(st))
	}
}

func TestRubricLifecycleGRPC(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	admin := e.Users[observation.RoleDistrictAdmin]
	ctx := testenv.Ctx(e.Token(t, admin))
	rc := pb.NewRubricServiceClient(e.GRPC)
	const id = "riverbend-discourse-grpc"
	content := allLangContent(t, e)

	c, err := rc.CreateRubric(ctx, &pb.CreateRubricRequest{OwnerId: admin.DistrictID, RubricId: id, Content: content})
	if err != nil {
		t.Fatal(err)
	}
	if c.GetVersion().GetStatus() != pb.VersionStatus_VERSION_STATUS_DRAFT || c.GetVersion().GetVersion() != 1 {
		t.Fatalf("created %s v%d", c.GetVersion().GetStatus(), c.GetVersion().GetVersion())
	}
	_, err = rc.CreateRubric(ctx, &pb.CreateRubricRequest{OwnerId: admin.DistrictID, RubricId: id, Content: content})
	if st := wantCode(t, err, codes.AlreadyExists); reasonOf(st) != "RUBRIC_EXISTS" {
		t.Errorf("duplicate id: reason %q", reasonOf(st))
	}

	edited := proto.Clone(content).(*pb.RubricContent)
	edited.Dimensions[0].Title["es"] = "Sustancia matemática"
	u, err := rc.UpdateDraftVersion(ctx, &pb.UpdateDraftVersionRequest{RubricId: id, Version: 1, Content: edited})
	if err != nil {
		t.Fatal(err)
	}
	want := observation.DefaultRubric()
	want.Dimensions[0].Title["es"] = "Sustancia matemática"
	if u.GetVersion().GetContentHash() != want.Hash() {
		t.Errorf("updated hash %s, want %s", u.GetVersion().GetContentHash(), want.Hash())
	}

	// Retiring a draft is refused.
	_, err = rc.RetireVersion(ctx, &pb.RetireVersionRequest{RubricId: id, Version: 1})
	if st := wantCode(t, err, codes.FailedPrecondition); reasonOf(st) != "RUBRIC_VERSION_DRAFT" {
		t.Errorf("retiring a draft: reason %q", reasonOf(st))
	}

	p, err := rc.PublishVersion(ctx, &pb.PublishVersionRequest{RubricId: id, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p.GetVersion().GetStatus() != pb.VersionStatus_VERSION_STATUS_PUBLISHED {
		t.Fatalf("status %s", p.GetVersion().GetStatus())
	}
	latest, err := rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: id, Version: "latest", Language: "es"})
	if err != nil {
		t.Fatal(err)
	}
	if latest.GetVersion().GetVersion() != 1 || latest.GetVersion().GetContent().GetDimensions()[0].GetTitle()["es"] != "Sustancia matemática" {
		t.Errorf("latest: v%d %v", latest.GetVersion().GetVersion(), latest.GetVersion().GetContent().GetDimensions()[0].GetTitle())
	}

	_, err = rc.UpdateDraftVersion(ctx, &pb.UpdateDraftVersionRequest{RubricId: id, Version: 1, Content: content})
	st := wantCode(t, err, codes.FailedPrecondition)
	if !strings.Contains(st.Message(), "can no longer be edited") || reasonOf(st) != "RUBRIC_VERSION_IMMUTABLE" {
		t.Errorf("editing a published version: %q (reason %q)", st.Message(), reasonOf(st))
	}

	// A new draft (copy of the newest) is version 2 and editable; latest stays version 1.
	d, err := rc.CreateDraftVersion(ctx, &pb.CreateDraftVersionRequest{RubricId: id})
	if err != nil {
		t.Fatal(err)
	}
	if d.GetVersion().GetVersion() != 2 || d.GetVersion().GetStatus() != pb.VersionStatus_VERSION_STATUS_DRAFT || d.GetVersion().GetContentHash() != want.Hash() {
		t.Errorf("new draft: v%d %s %s", d.GetVersion().GetVersion(), d.GetVersion().GetStatus(), d.GetVersion().GetContentHash())
	}
	if _, err := rc.UpdateDraftVersion(ctx, &pb.UpdateDraftVersionRequest{RubricId: id, Version: 2, Content: content}); err != nil {
		t.Errorf("editing draft 2: %v", err)
	}

	r, err := rc.RetireVersion(ctx, &pb.RetireVersionRequest{RubricId: id, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.GetVersion().GetStatus() != pb.VersionStatus_VERSION_STATUS_RETIRED {
		t.Errorf("status %s", r.GetVersion().GetStatus())
	}
	_, err = rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: id, Version: "latest"})
	if st := wantCode(t, err, codes.NotFound); reasonOf(st) != "NOT_FOUND" {
		t.Errorf("latest after retire: reason %q", reasonOf(st))
	}
	// The retired version stays readable by number.
	g, err := rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: id, Version: "1"})
	if err != nil || g.GetVersion().GetStatus() != pb.VersionStatus_VERSION_STATUS_RETIRED {
		t.Errorf("retired version 1: %v %v", g.GetVersion().GetStatus(), err)
	}
}

// ---------------------------------------------------------------------------------------------
// 4. authentication and public endpoints

func TestAuthFailures(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	mint := func(k identity.DevKey, p observation.Principal, iss, aud string, ttl time.Duration) string {
		tok, err := k.Mint(p, iss, aud, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	other, _, err := identity.EnsureDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	withSub := func(sub string) observation.Principal { p := coach; p.UserID = sub; return p }
	valid := mint(e.Key, coach, testenv.Issuer, testenv.Audience, time.Hour)
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))

	cases := []struct {
		name, token, reason string
	}{
		{"missing", "", "TOKEN_MISSING"},
		{"malformed", "not-a-jwt", "TOKEN_MALFORMED"},
		{"expired", mint(e.Key, coach, testenv.Issuer, testenv.Audience, -time.Hour), "TOKEN_EXPIRED"},
		{"wrong issuer", mint(e.Key, coach, "https://evil.example.org", testenv.Audience, time.Hour), "TOKEN_ISSUER"},
		{"wrong audience", mint(e.Key, coach, testenv.Issuer, "someone-else", time.Hour), "TOKEN_AUDIENCE"},
		{"other key", mint(other, coach, testenv.Issuer, testenv.Audience, time.Hour), "TOKEN_SIGNATURE"},
		{"tampered signature", tampered, "TOKEN_SIGNATURE"},
		{"over 8 KiB", mint(e.Key, withSub(strings.Repeat("x", 7000)), testenv.Issuer, testenv.Audience, time.Hour), "TOKEN_TOO_LARGE"},
		{"NUL in sub", mint(e.Key, withSub("a\x00b"), testenv.Issuer, testenv.Audience, time.Hour), "TOKEN_CLAIMS"},
		{"over-long sub", mint(e.Key, withSub(strings.Repeat("x", 300)), testenv.Issuer, testenv.Audience, time.Hour), "TOKEN_CLAIMS"},
	}
	ic := pb.NewIdentityServiceClient(e.GRPC)
	rc := pb.NewRubricServiceClient(e.GRPC)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			if c.token != "" {
				ctx = testenv.Ctx(c.token)
			}
			_, err := ic.WhoAmI(ctx, &pb.WhoAmIRequest{})
			if st := wantCode(t, err, codes.Unauthenticated); reasonOf(st) != c.reason || st.Message() == "" {
				t.Errorf("gRPC WhoAmI: reason %q (%q), want %s", reasonOf(st), st.Message(), c.reason)
			}
			// Authentication runs before validation: even an invalid request gets 401.
			_, err = rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: "!!", Version: "x"})
			if st := wantCode(t, err, codes.Unauthenticated); reasonOf(st) != c.reason {
				t.Errorf("gRPC GetRubricVersion: reason %q, want %s", reasonOf(st), c.reason)
			}
			r := e.Do(t, "GET", "/v1/me", c.token, "")
			if st := wantREST(t, r, http.StatusUnauthorized, codes.Unauthenticated); reasonOf(st) != c.reason {
				t.Errorf("REST /v1/me: reason %q, want %s; body %s", reasonOf(st), c.reason, r.Body)
			}
			r = e.Do(t, "GET", "/v1/rubrics/"+defaultID+"/versions/latest", c.token, "")
			if st := wantREST(t, r, http.StatusUnauthorized, codes.Unauthenticated); reasonOf(st) != c.reason {
				t.Errorf("REST rubric: reason %q, want %s", reasonOf(st), c.reason)
			}
		})
	}
	t.Run("basic scheme", func(t *testing.T) {
		r := e.Do(t, "GET", "/v1/me", "", "", "Authorization: Basic dXNlcjpwYXNz")
		if st := wantREST(t, r, http.StatusUnauthorized, codes.Unauthenticated); reasonOf(st) != "TOKEN_MISSING" {
			t.Errorf("reason %q", reasonOf(st))
		}
	})
	t.Run("valid", func(t *testing.T) {
		r := e.Do(t, "GET", "/v1/me", valid, "")
		wantREST(t, r, http.StatusOK, codes.OK)
	})
}

func TestPublicEndpoints(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)

	r := e.Do(t, "GET", "/healthz", "", "")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"ok"`) {
		t.Errorf("/healthz: %d %s", r.Status, r.Body)
	}
	r = e.Do(t, "GET", "/readyz", "", "")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"ready"`) {
		t.Errorf("/readyz: %d %s", r.Status, r.Body)
	}

	r = e.Do(t, "GET", "/openapi.json", "", "")
	var spec struct {
		Swagger string                    `json:"swagger"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.Body), &spec); err != nil || r.Status != http.StatusOK {
		t.Fatalf("/openapi.json: %d, %v", r.Status, err)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("/openapi.json content type %q", ct)
	}
	// Path parameter names may be spelt rubric_id or rubricId: compare templates without them.
	params := regexp.MustCompile(`\{[^}]*\}`)
	paths := map[string]map[string]any{}
	for p, ops := range spec.Paths {
		paths[params.ReplaceAllString(p, "{}")] = ops
	}
	for path, method := range map[string]string{
		"/v1/rubrics": "get", "/v1/rubrics/{}/versions/{}": "put", "/v1/rubrics/{}/versions/{}:publish": "post", "/v1/me": "get",
	} {
		if _, ok := paths[path][method]; !ok {
			t.Errorf("openapi paths lack %s %s (have %d paths)", method, path, len(spec.Paths))
		}
	}

	// One authenticated call, one refused: both are counted.
	if _, err := pb.NewIdentityServiceClient(e.GRPC).WhoAmI(testenv.Ctx(e.TokenFor(t, observation.RoleAdmin)), &pb.WhoAmIRequest{}); err != nil {
		t.Fatal(err)
	}
	_, _ = pb.NewIdentityServiceClient(e.GRPC).WhoAmI(context.Background(), &pb.WhoAmIRequest{})
	r = e.Do(t, "GET", "/metrics", "", "")
	for _, line := range []string{
		`grpc_server_handled_total{grpc_code="OK",grpc_method="WhoAmI",grpc_service="lookfor.v1.IdentityService",grpc_type="unary"} 1`,
		`grpc_server_handled_total{grpc_code="Unauthenticated",grpc_method="WhoAmI",grpc_service="lookfor.v1.IdentityService",grpc_type="unary"} 1`,
	} {
		if r.Status != http.StatusOK || !strings.Contains(r.Body, line) {
			t.Errorf("/metrics (HTTP %d) lacks %s", r.Status, line)
		}
	}
	if !strings.Contains(r.Body, "grpc_server_handling_seconds_bucket") {
		t.Errorf("/metrics lacks the handling-time histogram")
	}

	hc := healthpb.NewHealthClient(e.GRPC)
	for _, svc := range []string{"", "lookfor.v1.RubricService"} {
		h, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q: %v %v", svc, h.GetStatus(), err)
		}
	}
	_, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	wantCode(t, err, codes.NotFound)

	stream, err := reflectionpb.NewServerReflectionClient(e.GRPC).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"lookfor.v1.RubricService", "lookfor.v1.IdentityService", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, lacks %s", names, want)
		}
	}
}

// The OpenAPI spec must describe the JSON the gateway actually writes: a client generated from
// it has to find the fields of a rubric version under the names the REST API uses.
func TestOpenAPIMatchesRESTFieldNames(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	r := e.Do(t, "GET", "/openapi.json", "", "")
	var spec struct {
		Definitions map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal([]byte(r.Body), &spec); err != nil {
		t.Fatal(err)
	}
	r = e.Do(t, "GET", "/v1/rubrics/"+defaultID+"/versions/latest", e.TokenFor(t, observation.RoleCoach), "")
	var body struct {
		Version map[string]json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || len(body.Version) == 0 {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	def, ok := spec.Definitions["v1RubricVersion"]
	if !ok {
		t.Fatal("the spec has no v1RubricVersion definition")
	}
	var missing []string
	for k := range body.Version {
		if _, ok := def.Properties[k]; !ok {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		var have []string
		for k := range def.Properties {
			have = append(have, k)
		}
		slices.Sort(have)
		t.Errorf("REST writes RubricVersion fields %v that the OpenAPI spec does not describe (it has %v)", missing, have)
	}
}

// ---------------------------------------------------------------------------------------------
// 5. scope per RPC and role

type who struct {
	name string
	p    observation.Principal
}

func callers(t *testing.T, e *testenv.Env) []who {
	var out []who
	for _, r := range observation.Roles {
		out = append(out, who{string(r), e.Users[r]})
	}
	out = append(out, who{"other_district_admin", observation.Principal{UserID: "other-da-1", Role: observation.RoleDistrictAdmin, DistrictID: otherDistrict(t, e)}})
	if len(out) != 6 || out[0].p.Role != observation.RoleCoach || out[4].p.Role != observation.RoleAdmin {
		t.Fatalf("unexpected roles %v", out)
	}
	return out
}

// setupDistrictRubrics makes, as the home district admin, a draft-only rubric and a published one.
func setupDistrictRubrics(t *testing.T, e *testenv.Env, draftID, pubID string) *pb.RubricContent {
	t.Helper()
	da := e.Users[observation.RoleDistrictAdmin]
	ctx := testenv.Ctx(e.Token(t, da))
	rc := pb.NewRubricServiceClient(e.GRPC)
	content := allLangContent(t, e)
	for _, id := range []string{draftID, pubID} {
		if _, err := rc.CreateRubric(ctx, &pb.CreateRubricRequest{OwnerId: da.DistrictID, RubricId: id, Content: content}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rc.PublishVersion(ctx, &pb.PublishVersionRequest{RubricId: pubID, Version: 1}); err != nil {
		t.Fatal(err)
	}
	return content
}

func TestScopePerRPCAndRole(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	home := e.Users[observation.RoleDistrictAdmin].DistrictID
	other := otherDistrict(t, e)
	content := setupDistrictRubrics(t, e, "rb-draft", "rb-pub")
	contentJSON := mustJSON(t, content)
	rc := pb.NewRubricServiceClient(e.GRPC)
	ic := pb.NewIdentityServiceClient(e.GRPC)
	const (
		OK = codes.OK
		NF = codes.NotFound
		PD = codes.PermissionDenied
		FP = codes.FailedPrecondition
		// skip marks a call not made: it would change what the other cases read.
		skip = codes.Code(1 << 20)
	)
	type restCall struct{ method, path, body string }
	getV := func(id, v string) (func(context.Context, string) error, func(string) restCall) {
		return func(ctx context.Context, _ string) error {
				_, err := rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: id, Version: v})
				return err
			}, func(string) restCall {
				return restCall{"GET", "/v1/rubrics/" + id + "/versions/" + v, ""}
			}
	}
	create := func(owner string) (func(context.Context, string) error, func(string) restCall) {
		return func(ctx context.Context, tag string) error {
				_, err := rc.CreateRubric(ctx, &pb.CreateRubricRequest{OwnerId: owner, RubricId: "new-" + owner + "-" + tag, Content: content})
				return err
			}, func(tag string) restCall {
				return restCall{"POST", "/v1/rubrics", fmt.Sprintf(`{"owner_id":%q,"rubric_id":%q,"content":%s}`, owner, "new-"+owner+"-"+tag+"-rest", contentJSON)}
			}
	}
	draft := func(id string) (func(context.Context, string) error, func(string) restCall) {
		return func(ctx context.Context, _ string) error {
				_, err := rc.CreateDraftVersion(ctx, &pb.CreateDraftVersionRequest{RubricId: id})
				return err
			}, func(string) restCall {
				return restCall{"POST", "/v1/rubrics/" + id + "/versions", "{}"}
			}
	}
	update := func(id string, v uint32) (func(context.Context, string) error, func(string) restCall) {
		return func(ctx context.Context, _ string) error {
				_, err := rc.UpdateDraftVersion(ctx, &pb.UpdateDraftVersionRequest{RubricId: id, Version: v, Content: content})
				return err
			}, func(string) restCall {
				return restCall{"PUT", fmt.Sprintf("/v1/rubrics/%s/versions/%d", id, v), `{"content":` + contentJSON + `}`}
			}
	}
	publish := func(id string, v uint32) (func(context.Context, string) error, func(string) restCall) {
		return func(ctx context.Context, _ string) error {
				_, err := rc.PublishVersion(ctx, &pb.PublishVersionRequest{RubricId: id, Version: v})
				return err
			}, func(string) restCall {
				return restCall{"POST", fmt.Sprintf("/v1/rubrics/%s/versions/%d:publish", id, v), "{}"}
			}
	}
	retire := func(id string, v uint32) (func(context.Context, string) error, func(string) restCall) {
		return func(ctx context.Context, _ string) error {
				_, err := rc.RetireVersion(ctx, &pb.RetireVersionRequest{RubricId: id, Version: v})
				return err
			}, func(string) restCall {
				return restCall{"POST", fmt.Sprintf("/v1/rubrics/%s/versions/%d:retire", id, v), "{}"}
			}
	}
	list := func() (func(context.Context, string) error, func(string) restCall) {
		return func(ctx context.Context, _ string) error {
				_, err := rc.ListRubrics(ctx, &pb.ListRubricsRequest{})
				return err
			}, func(string) restCall {
				return restCall{"GET", "/v1/rubrics", ""}
			}
	}
	whoami := func() (func(context.Context, string) error, func(string) restCall) {
		return func(ctx context.Context, _ string) error {
				_, err := ic.WhoAmI(ctx, &pb.WhoAmIRequest{})
				return err
			}, func(string) restCall {
				return restCall{"GET", "/v1/me", ""}
			}
	}
	pair := func(g func(context.Context, string) error, r func(string) restCall) struct {
		g func(context.Context, string) error
		r func(string) restCall
	} {
		return struct {
			g func(context.Context, string) error
			r func(string) restCall
		}{g, r}
	}

	// Callers, in order: coach, principal, district_admin, network_analyst, admin, other_district_admin.
	cases := []struct {
		name string
		call struct {
			g func(context.Context, string) error
			r func(string) restCall
		}
		want [6]codes.Code
	}{
		{"ListRubrics", pair(list()), [6]codes.Code{OK, OK, OK, OK, OK, OK}},
		{"WhoAmI", pair(whoami()), [6]codes.Code{OK, OK, OK, OK, OK, OK}},
		{"Get network latest", pair(getV(defaultID, "latest")), [6]codes.Code{OK, OK, OK, OK, OK, OK}},
		{"Get network 1", pair(getV(defaultID, "1")), [6]codes.Code{OK, OK, OK, OK, OK, OK}},
		{"Get district published", pair(getV("rb-pub", "1")), [6]codes.Code{OK, OK, OK, NF, OK, NF}},
		{"Get district published latest", pair(getV("rb-pub", "latest")), [6]codes.Code{OK, OK, OK, NF, OK, NF}},
		{"Get district draft", pair(getV("rb-draft", "1")), [6]codes.Code{NF, NF, OK, NF, OK, NF}},
		{"Get district draft latest", pair(getV("rb-draft", "latest")), [6]codes.Code{NF, NF, NF, NF, NF, NF}},
		{"Get unknown", pair(getV("no-such-rubric", "1")), [6]codes.Code{NF, NF, NF, NF, NF, NF}},
		{"CreateRubric home district", pair(create(home)), [6]codes.Code{PD, PD, OK, NF, OK, NF}},
		{"CreateRubric other district", pair(create(other)), [6]codes.Code{NF, NF, NF, NF, OK, OK}},
		{"CreateRubric network", pair(create(observation.NetworkOwner)), [6]codes.Code{PD, PD, PD, PD, OK, PD}},
		{"CreateDraftVersion district published", pair(draft("rb-pub")), [6]codes.Code{PD, PD, OK, NF, OK, NF}},
		{"CreateDraftVersion district draft", pair(draft("rb-draft")), [6]codes.Code{NF, NF, OK, NF, OK, NF}},
		{"CreateDraftVersion network", pair(draft(defaultID)), [6]codes.Code{PD, PD, PD, PD, OK, PD}},
		{"CreateDraftVersion unknown", pair(draft("no-such-rubric")), [6]codes.Code{NF, NF, NF, NF, NF, NF}},
		{"UpdateDraftVersion district draft", pair(update("rb-draft", 1)), [6]codes.Code{NF, NF, OK, NF, OK, NF}},
		{"UpdateDraftVersion district published", pair(update("rb-pub", 1)), [6]codes.Code{PD, PD, FP, NF, FP, NF}},
		{"UpdateDraftVersion network", pair(update(defaultID, 1)), [6]codes.Code{PD, PD, PD, PD, FP, PD}},
		{"UpdateDraftVersion unknown", pair(update("no-such-rubric", 1)), [6]codes.Code{NF, NF, NF, NF, NF, NF}},
		{"PublishVersion district published", pair(publish("rb-pub", 1)), [6]codes.Code{PD, PD, OK, NF, OK, NF}},
		{"PublishVersion unknown version", pair(publish("rb-draft", 99)), [6]codes.Code{NF, NF, NF, NF, NF, NF}},
		{"PublishVersion network", pair(publish(defaultID, 1)), [6]codes.Code{PD, PD, PD, PD, OK, PD}},
		{"RetireVersion district draft", pair(retire("rb-draft", 1)), [6]codes.Code{NF, NF, FP, NF, FP, NF}},
		{"RetireVersion network", pair(retire(defaultID, 1)), [6]codes.Code{PD, PD, PD, PD, skip, PD}},
		{"RetireVersion unknown", pair(retire("no-such-rubric", 1)), [6]codes.Code{NF, NF, NF, NF, NF, NF}},
	}
	cs := callers(t, e)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i, w := range cs {
				want := c.want[i]
				if want == skip {
					continue
				}
				tok := e.Token(t, w.p)
				tag := fmt.Sprintf("c%d", i) // makes created rubric ids unique
				err := c.call.g(testenv.Ctx(tok), tag)
				if got := status.Code(err); got != want {
					t.Errorf("gRPC as %s: %s (%v), want %s", w.name, got, err, want)
				}
				rq := c.call.r(tag)
				r := e.Do(t, rq.method, rq.path, tok, rq.body)
				if wantHTTP := runtime.HTTPStatusFromCode(want); r.Status != wantHTTP {
					t.Errorf("REST %s %s as %s: HTTP %d, want %d (%s); body %.300s", rq.method, rq.path, w.name, r.Status, wantHTTP, want, r.Body)
				} else if want != OK {
					if st := restStatus(t, r); st.Code() != want {
						t.Errorf("REST as %s: body code %s, want %s", w.name, st.Code(), want)
					}
				}
			}
		})
	}
}

// A caller outside a resource's scope must not learn whether it exists: the answer for a hidden
// rubric is the same as for one that does not exist, up to the id.
func TestOutOfScopeDoesNotLeakExistence(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	content := setupDistrictRubrics(t, e, "rb-draft", "rb-pub")
	rc := pb.NewRubricServiceClient(e.GRPC)
	outsiders := []who{
		{"other_district_admin", observation.Principal{UserID: "other-da-1", Role: observation.RoleDistrictAdmin, DistrictID: otherDistrict(t, e)}},
		{"network_analyst", e.Users[observation.RoleNetworkAnalyst]},
		{"coach (draft)", e.Users[observation.RoleCoach]},
	}
	const missing = "zz-missing-rubric"
	norm := func(err error, id string) string {
		st, _ := status.FromError(err)
		return fmt.Sprintf("%s|%s|%s", st.Code(), strings.ReplaceAll(st.Message(), id, "ID"), reasonOf(st))
	}
	for _, o := range outsiders {
		ctx := testenv.Ctx(e.Token(t, o.p))
		hidden := "rb-pub"
		if o.name == "coach (draft)" {
			hidden = "rb-draft"
		}
		calls := map[string]func(id string) error{
			"Get 1": func(id string) error {
				_, err := rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: id, Version: "1"})
				return err
			},
			"Update 1": func(id string) error {
				_, err := rc.UpdateDraftVersion(ctx, &pb.UpdateDraftVersionRequest{RubricId: id, Version: 1, Content: content})
				return err
			},
			"Retire 1": func(id string) error {
				_, err := rc.RetireVersion(ctx, &pb.RetireVersionRequest{RubricId: id, Version: 1})
				return err
			},
			"CreateDraft": func(id string) error {
				_, err := rc.CreateDraftVersion(ctx, &pb.CreateDraftVersionRequest{RubricId: id})
				return err
			},
		}
		for name, call := range calls {
			h, m := norm(call(hidden), hidden), norm(call(missing), missing)
			if !strings.HasPrefix(h, "NotFound|") || h != m {
				t.Errorf("%s as %s: hidden %q, missing %q: the answers differ", name, o.name, h, m)
			}
		}
	}
}

func TestListRubricsScope(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	home := e.Users[observation.RoleDistrictAdmin].DistrictID
	other := otherDistrict(t, e)
	content := setupDistrictRubrics(t, e, "rb-draft", "rb-pub")
	rc := pb.NewRubricServiceClient(e.GRPC)
	daCtx := testenv.Ctx(e.TokenFor(t, observation.RoleDistrictAdmin))
	if _, err := rc.CreateDraftVersion(daCtx, &pb.CreateDraftVersionRequest{RubricId: "rb-pub"}); err != nil {
		t.Fatal(err)
	}
	otherDA := observation.Principal{UserID: "other-da-1", Role: observation.RoleDistrictAdmin, DistrictID: other}
	octx := testenv.Ctx(e.Token(t, otherDA))
	if _, err := rc.CreateRubric(octx, &pb.CreateRubricRequest{OwnerId: other, RubricId: "od-pub", Content: content}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.PublishVersion(octx, &pb.PublishVersionRequest{RubricId: "od-pub", Version: 1}); err != nil {
		t.Fatal(err)
	}

	net := "network/" + defaultID + "[1]"
	want := map[string][]string{
		"coach":                {net, home + "/rb-pub[1]"},
		"principal":            {net, home + "/rb-pub[1]"},
		"district_admin":       {net, home + "/rb-draft[1]", home + "/rb-pub[1 2]"},
		"network_analyst":      {net},
		"admin":                {net, other + "/od-pub[1]", home + "/rb-draft[1]", home + "/rb-pub[1 2]"},
		"other_district_admin": {net, other + "/od-pub[1]"},
	}
	if other > home { // the store orders districts by id
		want["admin"] = []string{net, home + "/rb-draft[1]", home + "/rb-pub[1 2]", other + "/od-pub[1]"}
	}
	summarize := func(rs []*pb.Rubric) []string {
		var out []string
		for _, r := range rs {
			var vs []string
			for _, v := range r.GetVersions() {
				vs = append(vs, fmt.Sprint(v.GetVersion()))
			}
			out = append(out, fmt.Sprintf("%s/%s[%s]", r.GetOwnerId(), r.GetRubricId(), strings.Join(vs, " ")))
		}
		return out
	}
	for _, w := range callers(t, e) {
		tok := e.Token(t, w.p)
		g, err := rc.ListRubrics(testenv.Ctx(tok), &pb.ListRubricsRequest{Language: "es"})
		if err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if got := summarize(g.GetRubrics()); !slices.Equal(got, want[w.name]) {
			t.Errorf("gRPC ListRubrics as %s: %v, want %v", w.name, got, want[w.name])
		}
		for _, rb := range g.GetRubrics() {
			if rb.GetOwnerId() != observation.NetworkOwner {
				continue
			}
			if rb.GetLatestPublishedVersion() != 1 || rb.GetTitle()["es"] != observation.DefaultRubric().Title["es"] || len(rb.GetTitle()) != 1 {
				t.Errorf("as %s: network rubric latest %d title %v", w.name, rb.GetLatestPublishedVersion(), rb.GetTitle())
			}
		}
		r := e.Do(t, "GET", "/v1/rubrics", tok, "")
		wantREST(t, r, http.StatusOK, codes.OK)
		var h pb.ListRubricsResponse
		decode(t, r.Body, &h)
		if got := summarize(h.GetRubrics()); !slices.Equal(got, want[w.name]) {
			t.Errorf("REST ListRubrics as %s: %v, want %v", w.name, got, want[w.name])
		}
		if w.name == "district_admin" {
			for _, rb := range h.GetRubrics() {
				if rb.GetRubricId() == "rb-draft" && rb.GetLatestPublishedVersion() != 0 {
					t.Errorf("rb-draft latest published %d, want 0", rb.GetLatestPublishedVersion())
				}
				if rb.GetRubricId() == "rb-pub" && rb.GetLatestPublishedVersion() != 1 {
					t.Errorf("rb-pub latest published %d, want 1", rb.GetLatestPublishedVersion())
				}
			}
		}
	}
}

func TestWhoAmI(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ic := pb.NewIdentityServiceClient(e.GRPC)
	roles := map[observation.Role]pb.Role{
		observation.RoleCoach: pb.Role_ROLE_COACH, observation.RolePrincipal: pb.Role_ROLE_PRINCIPAL,
		observation.RoleDistrictAdmin: pb.Role_ROLE_DISTRICT_ADMIN, observation.RoleNetworkAnalyst: pb.Role_ROLE_NETWORK_ANALYST,
		observation.RoleAdmin: pb.Role_ROLE_ADMIN,
	}
	for _, w := range callers(t, e) {
		tok := e.Token(t, w.p)
		check := func(transport string, got *pb.WhoAmIResponse, device string) {
			t.Helper()
			if got.GetUserId() != w.p.UserID || got.GetRole() != roles[w.p.Role] || got.GetDistrictId() != w.p.DistrictID ||
				!slices.Equal(got.GetSiteIds(), slices.Sorted(slices.Values(w.p.SiteIDs))) || got.GetDeviceId() != device {
				t.Errorf("%s as %s: %v, want %+v device %q", transport, w.name, got, w.p, device)
			}
		}
		device := "tablet-" + w.name
		g, err := ic.WhoAmI(testenv.Ctx(tok, "x-device-id", device), &pb.WhoAmIRequest{})
		if err != nil {
			t.Fatal(err)
		}
		check("gRPC", g, device)
		g, err = ic.WhoAmI(testenv.Ctx(tok), &pb.WhoAmIRequest{})
		if err != nil {
			t.Fatal(err)
		}
		check("gRPC without device", g, "")

		r := e.Do(t, "GET", "/v1/me", tok, "", "X-Device-Id: "+device)
		wantREST(t, r, http.StatusOK, codes.OK)
		var h pb.WhoAmIResponse
		decode(t, r.Body, &h)
		check("REST", &h, device)
	}
	if p := e.Users[observation.RoleCoach]; len(p.SiteIDs) == 0 || p.DistrictID == "" {
		t.Errorf("the demo coach has no sites or district: %+v", p)
	}
}

// ---------------------------------------------------------------------------------------------
// 6. bad input

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	da := e.Users[observation.RoleDistrictAdmin]
	tok := e.Token(t, da)
	ctx := testenv.Ctx(tok)
	rc := pb.NewRubricServiceClient(e.GRPC)
	content := allLangContent(t, e)

	rest := []struct {
		name, method, path, body string
		code                     codes.Code
		mentions                 []string // any of these
	}{
		{"malformed JSON", "POST", "/v1/rubrics", `{"owner_id": "x",`, codes.InvalidArgument, nil},
		{"not JSON", "POST", "/v1/rubrics", `owner_id=x`, codes.InvalidArgument, nil},
		{"wrong type", "POST", "/v1/rubrics", `{"owner_id": 5, "rubric_id": "r1"}`, codes.InvalidArgument, []string{"owner_id", "ownerId"}},
		{"unknown enum", "POST", "/v1/rubrics", `{"owner_id":"` + da.DistrictID + `","rubric_id":"r1","content":{"tally_categories":[{"key":"a","speaker":"SPEAKER_ROBOT"}]}}`, codes.InvalidArgument, []string{"speaker"}},
		{"unknown field", "POST", "/v1/rubrics", `{"owner_id":"` + da.DistrictID + `","rubric_id":"r1","colour_scheme":"blue"}`, codes.InvalidArgument, []string{"colour_scheme"}},
		{"missing content", "POST", "/v1/rubrics", `{"owner_id":"` + da.DistrictID + `","rubric_id":"r1"}`, codes.InvalidArgument, []string{"content"}},
		{"bad owner id", "POST", "/v1/rubrics", `{"owner_id":"-x","rubric_id":"r1","content":{}}`, codes.InvalidArgument, []string{"owner_id"}},
		{"rubric id pattern", "GET", "/v1/rubrics/-bad%20id/versions/latest", "", codes.InvalidArgument, []string{"rubric_id"}},
		{"version abc (GET)", "GET", "/v1/rubrics/" + defaultID + "/versions/abc", "", codes.InvalidArgument, []string{"version"}},
		{"version 0 (GET)", "GET", "/v1/rubrics/" + defaultID + "/versions/0", "", codes.InvalidArgument, []string{"version"}},
		{"version abc (PUT)", "PUT", "/v1/rubrics/" + defaultID + "/versions/abc", `{"content":{}}`, codes.InvalidArgument, []string{"version"}},
		{"version 0 (publish)", "POST", "/v1/rubrics/" + defaultID + "/versions/0:publish", `{}`, codes.InvalidArgument, []string{"version"}},
		{"unknown rubric", "GET", "/v1/rubrics/no-such-rubric/versions/latest", "", codes.NotFound, []string{"no-such-rubric"}},
		{"unknown rubric version", "GET", "/v1/rubrics/" + defaultID + "/versions/7", "", codes.NotFound, nil},
	}
	for _, c := range rest {
		t.Run("REST "+c.name, func(t *testing.T) {
			r := e.Do(t, c.method, c.path, tok, c.body)
			st := wantREST(t, r, runtime.HTTPStatusFromCode(c.code), c.code)
			if st.Message() == "" {
				t.Errorf("empty message")
			}
			if len(c.mentions) > 0 && !slices.ContainsFunc(c.mentions, func(s string) bool { return strings.Contains(st.Message(), s) }) {
				t.Errorf("message %q names none of %v", st.Message(), c.mentions)
			}
		})
	}

	t.Run("gRPC rubric id pattern", func(t *testing.T) {
		_, err := rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: "bad id!", Version: "latest"})
		if st := wantCode(t, err, codes.InvalidArgument); !strings.Contains(st.Message(), "rubric_id") {
			t.Errorf("message %q does not name rubric_id", st.Message())
		}
		_, err = rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: defaultID, Version: "abc"})
		if st := wantCode(t, err, codes.InvalidArgument); !strings.Contains(st.Message(), "version") {
			t.Errorf("message %q does not name version", st.Message())
		}
		_, err = rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: "no-such-rubric", Version: "latest"})
		wantCode(t, err, codes.NotFound)
	})

	t.Run("gRPC unknown speaker number", func(t *testing.T) {
		bad := proto.Clone(content).(*pb.RubricContent)
		bad.TallyCategories[0].Speaker = pb.Speaker(42)
		_, err := rc.CreateRubric(ctx, &pb.CreateRubricRequest{OwnerId: da.DistrictID, RubricId: "bad-speaker", Content: bad})
		st := wantCode(t, err, codes.InvalidArgument)
		if v := violationsOf(st); !slices.Contains(v, "content.tally_categories[0].speaker") {
			t.Errorf("violations %v (%q)", v, st.Message())
		}
	})

	// Invalid content names the exact path of the offending value, over both transports.
	invalid := []struct {
		name  string
		edit  func(c *pb.RubricContent)
		field string
	}{
		{"missing Spanish descriptor", func(c *pb.RubricContent) { delete(c.Dimensions[0].Levels[0].Descriptor_, "es") }, "content.dimensions[0].levels[0].descriptor.es"},
		{"blank Spanish title", func(c *pb.RubricContent) { c.Title["es"] = "  " }, "content.title.es"},
		{"duplicate dimension key", func(c *pb.RubricContent) { c.Dimensions[3].Key = "substance" }, "content.dimensions[3].key"},
		{"no languages", func(c *pb.RubricContent) { c.Languages = nil }, "content.languages"},
	}
	for _, c := range invalid {
		t.Run("content "+c.name, func(t *testing.T) {
			bad := proto.Clone(content).(*pb.RubricContent)
			c.edit(bad)
			_, err := rc.CreateRubric(ctx, &pb.CreateRubricRequest{OwnerId: da.DistrictID, RubricId: "bad-content", Content: bad})
			st := wantCode(t, err, codes.InvalidArgument)
			if v := violationsOf(st); !slices.Equal(v, []string{c.field}) || !strings.HasPrefix(st.Message(), c.field+": ") {
				t.Errorf("gRPC: violations %v, message %q; want field %s", v, st.Message(), c.field)
			}
			r := e.Do(t, "POST", "/v1/rubrics", tok, fmt.Sprintf(`{"owner_id":%q,"rubric_id":"bad-content","content":%s}`, da.DistrictID, mustJSON(t, bad)))
			st = wantREST(t, r, http.StatusBadRequest, codes.InvalidArgument)
			if v := violationsOf(st); !slices.Equal(v, []string{c.field}) {
				t.Errorf("REST: violations %v; want %s", v, c.field)
			}
			// The same check guards draft updates.
			_, err = rc.UpdateDraftVersion(ctx, &pb.UpdateDraftVersionRequest{RubricId: "no-such-draft", Version: 1, Content: bad})
			if v := violationsOf(wantCode(t, err, codes.InvalidArgument)); !slices.Equal(v, []string{c.field}) {
				t.Errorf("UpdateDraftVersion: violations %v; want %s", v, c.field)
			}
		})
	}
}

func TestOversizeRequests(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	e := testenv.Start(t, func(c *server.Config) { c.MaxRequestBytes = limit })
	da := e.Users[observation.RoleDistrictAdmin]
	tok := e.Token(t, da)
	big := strings.Repeat("x", limit+1024)
	body := fmt.Sprintf(`{"owner_id":%q,"rubric_id":"big","content":{"title":{"en":%q}}}`, da.DistrictID, big)

	t.Run("REST with Content-Length", func(t *testing.T) {
		r := e.Do(t, "POST", "/v1/rubrics", tok, body)
		st := wantREST(t, r, http.StatusRequestEntityTooLarge, codes.ResourceExhausted)
		if !strings.Contains(st.Message(), fmt.Sprint(limit)) {
			t.Errorf("message %q does not state the limit", st.Message())
		}
	})

	t.Run("REST chunked", func(t *testing.T) {
		req, err := http.NewRequest("POST", e.BaseURL+"/v1/rubrics", io.MultiReader(strings.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if req.ContentLength != 0 {
			t.Fatalf("the request was not sent chunked")
		}
		st := wantREST(t, testenv.Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, http.StatusRequestEntityTooLarge, codes.ResourceExhausted)
		if !strings.Contains(st.Message(), fmt.Sprint(limit)) {
			t.Errorf("message %q does not state the limit", st.Message())
		}
	})

	t.Run("REST under the limit", func(t *testing.T) {
		small := fmt.Sprintf(`{"owner_id":%q,"rubric_id":"small","content":{"title":{"en":%q}}}`, da.DistrictID, strings.Repeat("x", limit/2))
		r := e.Do(t, "POST", "/v1/rubrics", tok, small)
		wantREST(t, r, http.StatusBadRequest, codes.InvalidArgument) // passes the limit, fails validation
	})

	t.Run("gRPC", func(t *testing.T) {
		rc := pb.NewRubricServiceClient(e.GRPC)
		_, err := rc.CreateRubric(testenv.Ctx(tok), &pb.CreateRubricRequest{OwnerId: da.DistrictID, RubricId: "big",
			Content: &pb.RubricContent{Title: map[string]string{"en": big}}})
		wantCode(t, err, codes.ResourceExhausted)
		// The connection still works afterwards.
		if _, err := rc.ListRubrics(testenv.Ctx(tok), &pb.ListRubricsRequest{}); err != nil {
			t.Errorf("after an oversize message: %v", err)
		}
	})
}

// ---------------------------------------------------------------------------------------------
// 8. request ids

func TestRequestID(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tok := e.TokenFor(t, observation.RoleCoach)
	generated := regexp.MustCompile(`^[0-9a-f]{24}$`)

	r := e.Do(t, "GET", "/v1/me", tok, "", "X-Request-Id: tablet-7.req:0042_a-b")
	if got := r.Header.Get("X-Request-Id"); got != "tablet-7.req:0042_a-b" {
		t.Errorf("sane id echoed as %q", got)
	}
	r = e.Do(t, "GET", "/v1/me", tok, "")
	first := r.Header.Get("X-Request-Id")
	if !generated.MatchString(first) {
		t.Errorf("generated id %q", first)
	}
	r = e.Do(t, "GET", "/v1/me", tok, "")
	if second := r.Header.Get("X-Request-Id"); !generated.MatchString(second) || second == first {
		t.Errorf("second generated id %q (first %q)", second, first)
	}
	for _, insane := range []string{"has spaces in it", strings.Repeat("a", 129), "semi;colon", "<script>"} {
		r = e.Do(t, "GET", "/v1/me", tok, "", "X-Request-Id: "+insane)
		if got := r.Header.Get("X-Request-Id"); !generated.MatchString(got) {
			t.Errorf("insane id %q answered with %q", insane, got)
		}
	}
	// Errors carry it too.
	r = e.Do(t, "GET", "/v1/me", "", "", "X-Request-Id: failing-call-1")
	if r.Status != http.StatusUnauthorized || r.Header.Get("X-Request-Id") != "failing-call-1" {
		t.Errorf("401: HTTP %d, id %q", r.Status, r.Header.Get("X-Request-Id"))
	}

	var md metadata.MD
	if _, err := pb.NewIdentityServiceClient(e.GRPC).WhoAmI(testenv.Ctx(tok, "x-request-id", "grpc-req-1"), &pb.WhoAmIRequest{}, grpc.Header(&md)); err != nil {
		t.Fatal(err)
	}
	if got := md.Get("x-request-id"); len(got) != 1 || got[0] != "grpc-req-1" {
		t.Errorf("gRPC x-request-id header %v", got)
	}
}

// ---------------------------------------------------------------------------------------------
// 9. graceful shutdown

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	grpcAddr, httpAddr := e.Server.Addrs()

	wctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch, err := healthpb.NewHealthClient(e.GRPC).Watch(wctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := watch.Recv(); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health before shutdown: %v %v", h.GetStatus(), err)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- e.Stop() }()

	// While draining (our watch stream is still in flight), health says NOT_SERVING.
	h, err := watch.Recv()
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health while draining: %v %v", h.GetStatus(), err)
	}
	cancel() // the last in-flight call ends; the drain completes

	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Stop: %v", err)
		}
	case <-time.After(4 * time.Second): // under the 5 s drain timeout: the drain itself finished
		t.Fatal("Stop did not return after the last call ended")
	}
	for _, a := range []net.Addr{grpcAddr, httpAddr} {
		if c, err := net.DialTimeout("tcp", a.String(), time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Stop", a)
		}
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// ---------------------------------------------------------------------------------------------
// 10. readiness follows the database

func TestReadyzDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	hc := healthpb.NewHealthClient(e.GRPC)
	if r := e.Do(t, "GET", "/readyz", "", ""); r.Status != http.StatusOK {
		t.Fatalf("/readyz before: %d %s", r.Status, r.Body)
	}
	tok := e.TokenFor(t, observation.RoleCoach)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	db := e.Store.Pool().Config().ConnConfig.Database
	if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}

	r := e.Do(t, "GET", "/readyz", "", "")
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "database unreachable") {
		t.Errorf("/readyz after the database went away: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/healthz", "", ""); r.Status != http.StatusOK {
		t.Errorf("/healthz (liveness) after the database went away: %d", r.Status)
	}
	h, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("gRPC health: %v %v, want NOT_SERVING", h.GetStatus(), err)
	}
	// Calls that need the database (resolving the caller through the roster, to begin with)
	// answer UNAVAILABLE (503), never INTERNAL.
	_, err = pb.NewRubricServiceClient(e.GRPC).GetRubricVersion(testenv.Ctx(tok), &pb.GetRubricVersionRequest{RubricId: defaultID, Version: "latest"})
	if st := wantCode(t, err, codes.Unavailable); strings.Contains(st.Message(), "does not exist") {
		t.Errorf("UNAVAILABLE leaks the database error: %q", st.Message())
	}
	r = e.Do(t, "GET", "/v1/rubrics/"+defaultID+"/versions/latest", tok, "")
	wantREST(t, r, http.StatusServiceUnavailable, codes.Unavailable)
}
