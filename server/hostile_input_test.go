package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/gen/openapi"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

// The hostile-input property: whatever a client puts into a REST route's path, query, headers or
// body, lookfor answers 4xx, never 5xx; a 400 names the offending field (a google.rpc.BadRequest
// field violation) in lookfor's own words, never a decoder's, gRPC's or PostgreSQL's. Every route
// comes from the OpenAPI spec, so a new route is covered without touching this test.

// swagger is the part of the OpenAPI 2 spec the test reads.
type swagger struct {
	Paths       map[string]map[string]operation `json:"paths"`
	Definitions map[string]*schema              `json:"definitions"`
}

type operation struct {
	Parameters []parameter `json:"parameters"`
}

type parameter struct {
	Name   string  `json:"name"`
	In     string  `json:"in"`
	Type   string  `json:"type"`
	Format string  `json:"format"`
	Enum   []any   `json:"enum"`
	Schema *schema `json:"schema"`
}

type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Format               string             `json:"format"`
	Enum                 []any              `json:"enum"`
	Properties           map[string]*schema `json:"properties"`
	Items                *schema            `json:"items"`
	AdditionalProperties json.RawMessage    `json:"additionalProperties"` // a schema, or false
}

type route struct {
	method, path string
	params       []parameter
	body         *schema
}

func loadRoutes(t *testing.T) (*swagger, []route) {
	t.Helper()
	var s swagger
	if err := json.Unmarshal(openapi.Spec, &s); err != nil {
		t.Fatal(err)
	}
	var routes []route
	for p, ops := range s.Paths {
		for m, op := range ops {
			r := route{method: strings.ToUpper(m), path: p}
			for _, prm := range op.Parameters {
				if prm.In == "body" {
					r.body = prm.Schema
					continue
				}
				r.params = append(r.params, prm)
			}
			routes = append(routes, r)
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].path+routes[i].method < routes[j].path+routes[j].method })
	if len(routes) < 30 {
		t.Fatalf("only %d routes in the OpenAPI spec", len(routes))
	}
	return &s, routes
}

func (s *swagger) resolve(sc *schema) *schema {
	for sc != nil && sc.Ref != "" {
		sc = s.Definitions[strings.TrimPrefix(sc.Ref, "#/definitions/")]
	}
	return sc
}

// sample builds a plausible JSON value for a schema: the shape a real client would send.
func (s *swagger) sample(sc *schema, depth int) any {
	sc = s.resolve(sc)
	if sc == nil {
		return nil
	}
	if len(sc.Enum) > 0 {
		for _, e := range sc.Enum {
			if str, ok := e.(string); ok && !strings.HasSuffix(str, "UNSPECIFIED") {
				return str
			}
		}
		return sc.Enum[0]
	}
	switch sc.Type {
	case "object", "":
		if depth > 4 {
			return map[string]any{}
		}
		out := map[string]any{}
		var values schema
		if len(sc.Properties) == 0 && json.Unmarshal(sc.AdditionalProperties, &values) == nil {
			out["en"] = s.sample(&values, depth+1)
		}
		for name, p := range sc.Properties {
			if v := s.sample(p, depth+1); v != nil {
				out[name] = v
			}
		}
		return out
	case "array":
		if depth > 4 {
			return []any{}
		}
		if v := s.sample(sc.Items, depth+1); v != nil {
			return []any{v}
		}
		return []any{}
	case "string":
		switch sc.Format {
		case "date-time":
			return "2026-10-01T10:00:00Z"
		case "int64", "uint64":
			return "1"
		case "byte":
			return "AAAA"
		case "date":
			return "2026-10-01"
		}
		return "x"
	case "integer":
		return 1
	case "number":
		return 1.5
	case "boolean":
		return true
	}
	return nil
}

// leaf is one scalar in a sampled body, with its JSON path and schema kind.
type leaf struct {
	path []any // string keys and int indexes
	kind string
}

func leaves(v any, path []any, out *[]leaf) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			leaves(x[k], append(slices.Clone(path), k), out)
		}
	case []any:
		for i, e := range x {
			leaves(e, append(slices.Clone(path), i), out)
		}
	case string:
		kind := "string"
		if x == "1" { // how sample writes 64-bit integers
			kind = "number"
		}
		*out = append(*out, leaf{path: path, kind: kind})
	case float64, int:
		*out = append(*out, leaf{path: path, kind: "number"})
	case bool:
		*out = append(*out, leaf{path: path, kind: "bool"})
	}
}

// rawString marks a JSON string whose bytes are written as they are (invalid UTF-8).
type rawString string

// replaced returns a deep copy of v with the value at path replaced.
func replaced(v any, path []any, with any) any {
	if len(path) == 0 {
		return with
	}
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = e
		}
		c[path[0].(string)] = replaced(x[path[0].(string)], path[1:], with)
		return c
	case []any:
		c := slices.Clone(x)
		c[path[0].(int)] = replaced(x[path[0].(int)], path[1:], with)
		return c
	}
	return v
}

// encode writes v as JSON, writing rawString values byte for byte.
func encode(v any) string {
	var b strings.Builder
	var w func(any)
	w = func(v any) {
		switch x := v.(type) {
		case rawString:
			b.WriteString(`"` + string(x) + `"`)
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					b.WriteByte(',')
				}
				kb, _ := json.Marshal(k)
				b.Write(kb)
				b.WriteByte(':')
				w(x[k])
			}
			b.WriteByte('}')
		case []any:
			b.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					b.WriteByte(',')
				}
				w(e)
			}
			b.WriteByte(']')
		case json.Number:
			b.WriteString(string(x))
		default:
			jb, _ := json.Marshal(x)
			b.Write(jb)
		}
	}
	w(v)
	return b.String()
}

// hostileLeaves are what replaces one scalar of a body.
var hostileLeaves = []struct {
	name, kind string // kind: the leaf kind for which the value is well-formed
	v          any
}{
	{"NUL", "", "a\u0000b"},
	{"invalid UTF-8", "", rawString("a\xff\xfeb")},
	{"cut UTF-8", "", rawString("\xc3")},
	{"above int4", "number", json.Number("2147483648")},
	{"above uint32", "number", json.Number("4294967296")},
	{"above int64", "number", json.Number("99999999999999999999999")},
	{"huge exponent", "", json.Number("1e400")},
	{"giant exponent", "", json.Number("1e999999999")},
	{"negative", "number", json.Number("-2147483649")},
	{"fraction", "number", json.Number("1.5")},
	{"object", "", map[string]any{"a": 1}},
	{"array", "", []any{1, "x"}},
	{"bool", "bool", true},
}

// hostileBodies replace the whole body.
var hostileBodies = []struct{ name, body string }{
	{"trailing bytes", `{} x`},
	{"two objects", `{}{}`},
	{"trailing garbage after valid", `{}` + "\x00"},
	{"array", `[1,2,3]`},
	{"string", `"body"`},
	{"number", `12`},
	{"truncated", `{"a":`},
	{"deep nesting", strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000)},
	{"deep arrays", strings.Repeat(`[`, 20000) + strings.Repeat(`]`, 20000)},
	{"whitespace only", " \n\t "},
	{"unknown field", `{"no_such_field_anywhere": 1}`},
	{"NUL outside strings", "{\x00}"},
	{"invalid UTF-8 key", "{\"\xff\": 1}"},
}

// hostileParams replace one path segment or query value (percent-encoded as sent).
var hostileParams = []struct{ name, v string }{
	{"NUL", "a%00b"},
	{"invalid UTF-8", "a%FF%FEb"},
	{"cut UTF-8", "%C3"},
	{"above int4", "2147483648"},
	{"above uint32", "4294967296"},
	{"above int64", "99999999999999999999999"},
	{"negative", "-1"},
	{"not a number", "abc"},
	{"control", "a%01%7Fb"},
}

// leaked are fragments of other software's words that must never reach a caller.
var leaked = regexp.MustCompile(`(?i)grpc:|proto:|protojson|syntax error|invalid byte sequence|encoding "?UTF8|SQLSTATE|pgx|strconv|unexpected token|invalid character|json:|cannot unmarshal|type mismatch|parsing field|unmarshal|marshal`)

type hostileCase struct {
	what          string
	method, path  string
	body          string
	headers       map[string]string
	token         string
	role          string
	wantField     string // when set, the 400's field violation must name it
	allowAccepted bool   // a 2xx is a valid answer too (e.g. unknown query parameters are ignored)
}

func TestHostileInputNeverAnswers5xx(t *testing.T) {
	e := testenv.Start(t)
	s, routes := loadRoutes(t)
	admin := e.Users[observation.RoleDistrictAdmin]
	values := map[string]string{"district_id": admin.DistrictID}
	for _, site := range e.Roster.Sites {
		if site.DistrictID == admin.DistrictID && values["site_id"] == "" {
			values["site_id"] = site.ID
		}
	}
	tokens := map[string]string{}
	for _, r := range []observation.Role{observation.RoleCoach, observation.RolePrincipal, observation.RoleDistrictAdmin, observation.RoleAdmin} {
		tokens[string(r)] = e.TokenFor(t, r)
	}
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	fill := func(p string, override map[string]string) string {
		return pathParam.ReplaceAllStringFunc(p, func(m string) string {
			name := m[1 : len(m)-1]
			if v, ok := override[name]; ok {
				return v
			}
			if v, ok := values[name]; ok && v != "" {
				return url.PathEscape(v)
			}
			if strings.HasSuffix(name, "version") {
				return "1"
			}
			return "x1"
		})
	}

	var cases []hostileCase
	for _, r := range routes {
		var body any
		if r.body != nil {
			body = s.sample(r.body, 0)
		}
		base := ""
		if body != nil {
			base = encode(body)
		}
		for role, tok := range tokens {
			full := role == string(observation.RoleAdmin) || role == string(observation.RoleDistrictAdmin)
			// Path segments.
			for _, prm := range r.params {
				if prm.In != "path" {
					continue
				}
				for _, h := range hostileParams {
					p := fill(r.path, map[string]string{prm.Name: h.v})
					cases = append(cases, hostileCase{what: "path " + prm.Name + " " + h.name, method: r.method, path: p, body: base,
						token: tok, role: role, wantField: edgeField(h.name, prm.Name), allowAccepted: !edgeBad(h.name)})
				}
			}
			// Query parameters, including ones the route does not have.
			for _, prm := range append(slices.Clone(r.params), parameter{Name: "not_a_parameter", In: "query"}) {
				if prm.In != "query" {
					continue
				}
				for _, h := range hostileParams {
					p := fill(r.path, nil) + "?" + url.QueryEscape(prm.Name) + "=" + h.v
					cases = append(cases, hostileCase{what: "query " + prm.Name + " " + h.name, method: r.method, path: p, body: base,
						token: tok, role: role, wantField: edgeField(h.name, prm.Name), allowAccepted: !edgeBad(h.name)})
				}
			}
			for _, h := range []struct{ name, v string }{{"NUL", "a%00b"}, {"invalid UTF-8", "%FF"}} {
				p := fill(r.path, nil) + "?" + h.v + "=1"
				cases = append(cases, hostileCase{what: "query name " + h.name, method: r.method, path: p, body: base, token: tok, role: role})
			}
			// Headers lookfor does not read are not forwarded when gRPC metadata cannot carry them.
			for _, hdr := range []string{"User-Agent", "Referer", "Grpc-Metadata-Note"} {
				cases = append(cases, hostileCase{what: "header " + hdr, method: r.method, path: fill(r.path, nil), body: base,
					headers: map[string]string{hdr: "é\xff"}, token: tok, role: role, allowAccepted: true})
			}
			// Headers lookfor reads.
			for _, hdr := range []string{"X-Device-Id", "X-Request-Id", "Accept-Language", "If-None-Match", "Authorization"} {
				// (NUL and other control characters never get this far: Go's HTTP client will not
				// send them and its server refuses them.)
				for _, v := range []string{"a\xffb", "é"} {
					cases = append(cases, hostileCase{what: "header " + hdr, method: r.method, path: fill(r.path, nil), body: base,
						headers: map[string]string{hdr: v}, token: tok, role: role, wantField: hdr})
				}
			}
			if r.body == nil {
				continue
			}
			for _, h := range hostileBodies {
				// An empty body is an empty request, which some calls accept.
				cases = append(cases, hostileCase{what: "body " + h.name, method: r.method, path: fill(r.path, nil), body: h.body, token: tok, role: role,
					allowAccepted: strings.TrimSpace(h.body) == ""})
			}
			if !full {
				continue
			}
			// Every scalar of the body, one at a time.
			var ls []leaf
			leaves(body, nil, &ls)
			for _, l := range ls {
				lp := leafPath(l.path)
				perItem := r.path == "/v1/sync:push" && strings.HasPrefix(lp, "changes") || r.path == "/v1/sync:reconcile" && strings.HasPrefix(lp, "records")
				for _, h := range hostileLeaves {
					c := hostileCase{what: fmt.Sprintf("body %s %s", lp, h.name), method: r.method, path: fill(r.path, nil),
						body: encode(replaced(body, l.path, h.v)), token: tok, role: role, allowAccepted: h.kind == l.kind}
					// Whatever else is wrong with the sampled body, a value its field cannot
					// hold is found first, while decoding, and named; a NUL is found next, by
					// the gRPC text check — except in items a sync call answers one by one.
					switch {
					case h.kind == l.kind:
					case h.name == "NUL" && perItem:
						c.allowAccepted = true
					case h.name == "NUL" || h.kind == "" || l.kind == "string" || l.kind == "bool":
						c.wantField = lp
					}
					cases = append(cases, c)
				}
			}
		}
	}
	t.Logf("%d routes, %d hostile requests", len(routes), len(cases))

	client := &http.Client{}
	failures := 0
	for _, c := range cases {
		if failures > 40 {
			t.Fatal("too many failures")
		}
		status, body, err := send(client, e.BaseURL, c)
		if err != nil {
			t.Errorf("%s %s (%s, %s): %v", c.method, c.path, c.role, c.what, err)
			failures++
			continue
		}
		if problem := judge(c, status, body); problem != "" {
			t.Errorf("%s %.120q (%s, %s): %s; answered %d %.400s", c.method, c.path, c.role, c.what, problem, status, body)
			failures++
		}
	}
	if e.Server == nil {
		t.Fatal("no server")
	}
	// The server is still healthy.
	if r := e.Do(t, "GET", "/healthz", "", ""); r.Status != http.StatusOK {
		t.Fatalf("healthz after hostile input: %d", r.Status)
	}
}

// edgeBad reports hostile parameter values that are malformed text, refused at the HTTP edge.
func edgeBad(name string) bool {
	return name == "NUL" || name == "invalid UTF-8" || name == "cut UTF-8" || name == "control"
}

func edgeField(hostile, param string) string {
	if edgeBad(hostile) {
		return param
	}
	return ""
}

func send(client *http.Client, base string, c hostileCase) (int, string, error) {
	var rd io.Reader
	if c.body != "" {
		rd = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, base+c.path, rd)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.headers {
		req.Header[k] = []string{v}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// judge returns what is wrong with an answer to a hostile request, or "".
func judge(c hostileCase, status int, body string) string {
	if status >= 500 {
		return "a server error for client input"
	}
	if status < 400 && !c.allowAccepted {
		return "hostile input accepted"
	}
	if leaked.MatchString(body) {
		return "another program's words reach the caller"
	}
	if status != http.StatusBadRequest {
		return ""
	}
	fields := badRequestFields(body)
	if len(fields) == 0 {
		return "a 400 that names no field"
	}
	// A body bound to one field of the request (body: "goal") is named either within the body
	// (target_date, while decoding) or within the request (goal.target_date, after).
	if c.wantField != "" && !slices.ContainsFunc(fields, func(f string) bool { return f == c.wantField || strings.HasSuffix(f, "."+c.wantField) }) {
		return fmt.Sprintf("the 400 names %v, not %s", fields, c.wantField)
	}
	return ""
}

// leafPath writes a JSON path the way lookfor names fields: a.b[0].c.
func leafPath(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch x := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", x)
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(x)
		}
	}
	return b.String()
}

var mapKey = regexp.MustCompile(`\["([^"]*)"\]`)

// badRequestFields returns the fields of the google.rpc.BadRequest detail of a REST error body.
func badRequestFields(body string) []string {
	var eb struct {
		Details []struct {
			Type            string `json:"@type"`
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"field_violations"`
		} `json:"details"`
	}
	if json.Unmarshal([]byte(body), &eb) != nil {
		return nil
	}
	var out []string
	for _, d := range eb.Details {
		if strings.HasSuffix(d.Type, "google.rpc.BadRequest") {
			for _, v := range d.FieldViolations {
				if v.Field != "" {
					out = append(out, mapKey.ReplaceAllString(v.Field, ".$1")) // title["en"] is title.en
				}
			}
		}
	}
	return out
}

// rawCodec sends hand-made wire bytes, which a Go client's protobuf runtime would refuse to
// marshal (invalid UTF-8 in a string field).
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (rawCodec) Unmarshal(mem.BufferSlice, any) error { return nil }
func (rawCodec) Name() string                         { return "proto" }

// Direct gRPC callers get the same answer as REST for text lookfor cannot store: INVALID_ARGUMENT
// naming the field — also for invalid UTF-8, which the protobuf runtime refuses to decode (gRPC
// itself would answer INTERNAL before lookfor sees the call).
func TestHostileGRPCTextNamesTheField(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := testenv.Ctx(e.TokenFor(t, observation.RoleCoach))
	str := func(b []byte, num protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
	}
	msg := func(b []byte, num protowire.Number, m []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), m)
	}
	record := str(nil, 24, "ask \xffstudents") // ObservationRecord.next_steps
	change := msg(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1), 3, record)
	for _, c := range []struct {
		name, method string
		raw          []byte
		field        string
	}{
		{"invalid UTF-8 in an id", pb.ObservationService_GetObservation_FullMethodName, str(nil, 1, "\xff"), "observation_id"},
		{"NUL in an id", pb.ObservationService_GetObservation_FullMethodName, str(nil, 1, "a\x00b"), "observation_id"},
		{"invalid UTF-8 deep in a push", pb.SyncService_Push_FullMethodName,
			msg(str(nil, 1, "7c1e3f0a-3f7e-4c4e-9d59-6d1c2b0a9e11"), 2, change), "changes[0].record.next_steps"},
		{"invalid UTF-8 in a map value", pb.RubricService_CreateRubric_FullMethodName,
			msg(str(nil, 2, "r1"), 3, msg(nil, 1, str(str(nil, 1, "en"), 2, "\xc3"))), "content.title"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var reply []byte
			err := e.GRPC.Invoke(ctx, c.method, c.raw, &reply, grpc.ForceCodecV2(rawCodec{}))
			st := wantCode(t, err, codes.InvalidArgument)
			if v := violationsOf(st); len(v) != 1 || !strings.HasPrefix(v[0], c.field) || reasonOf(st) != observation.ReasonInvalidUTF8 {
				t.Errorf("violations %v, reason %q (%s): want %s, INVALID_UTF8", v, reasonOf(st), st.Message(), c.field)
			}
		})
	}
}
