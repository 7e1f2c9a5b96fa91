package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

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
