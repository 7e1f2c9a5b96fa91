package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

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
