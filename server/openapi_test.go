package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/gen/openapi"
)

// TestOpenAPIIsSomethingToCodeAgainst holds the served spec to what a district's developer needs:
// every operation lists its error statuses with the google.rpc.Status body, and every parameter
// and every field is described (from the proto comments). Redocly CLI lints the same file in
// make lint; this test covers what its rules do not.
func TestOpenAPIIsSomethingToCodeAgainst(t *testing.T) {
	type schema struct {
		Ref         string `json:"$ref"`
		Description string
		Title       string
		Properties  map[string]schema
	}
	var spec struct {
		Paths map[string]map[string]struct {
			OperationID string
			Responses   map[string]struct {
				Description string
				Schema      schema
			}
			Parameters []struct {
				Name, In, Description string
				Schema                schema
			}
		}
		Definitions map[string]schema
	}
	if err := json.Unmarshal(openapi.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	// Generated from googleapis' own protos, which lookfor does not write: the error body.
	thirdParty := map[string]bool{"rpcStatus": true, "protobufAny": true}
	def := func(ref string) schema { return spec.Definitions[strings.TrimPrefix(ref, "#/definitions/")] }

	ops, params := 0, 0
	for path, methods := range spec.Paths {
		for method, op := range methods {
			ops++
			for _, code := range []string{"400", "401", "403", "404", "413", "500", "503"} {
				r, ok := op.Responses[code]
				if !ok || r.Schema.Ref != "#/definitions/rpcStatus" || r.Description == "" {
					t.Errorf("%s %s (%s) does not document %s with the error body", method, path, op.OperationID, code)
				}
			}
			for _, p := range op.Parameters {
				params++
				d := p.Description
				if p.In == "body" && d == "" {
					d = def(p.Schema.Ref).Description // the request body's own message comment
				}
				if strings.TrimSpace(d) == "" {
					t.Errorf("%s %s: parameter %s (%s) has no description", method, path, p.Name, p.In)
				}
				if (p.Name == "period.key") && !strings.Contains(d, "2026-W03") {
					t.Errorf("%s %s: period.key does not give its formats: %q", method, path, d)
				}
			}
		}
	}
	fields := 0
	for name, d := range spec.Definitions {
		if thirdParty[name] {
			continue
		}
		if d.Description == "" && d.Title == "" {
			t.Errorf("definition %s has no description", name)
		}
		for field, p := range d.Properties {
			fields++
			if p.Description == "" && p.Title == "" {
				t.Errorf("%s.%s has no description", name, field)
			}
		}
	}
	if ops < 40 || params < 100 || fields < 400 {
		t.Errorf("the spec has only %d operations, %d parameters and %d fields: is it the whole API?", ops, params, fields)
	}
}
