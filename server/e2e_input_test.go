package server_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
)

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
