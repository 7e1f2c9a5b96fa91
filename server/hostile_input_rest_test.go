package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

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
