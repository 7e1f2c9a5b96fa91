package server_test

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/gen/openapi"
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
