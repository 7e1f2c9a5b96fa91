package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

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
