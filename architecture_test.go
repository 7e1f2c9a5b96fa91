// Package lookfor_test holds the test that keeps the layout honest: the import rules of
// docs/architecture.md, checked against what `go list -deps` says each package pulls in.
package lookfor_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/lookfor-edu/lookfor"

// layer is one package and the lookfor packages it may depend on (directly or not).
type layer struct {
	pkg    string
	mayUse []string
}

// transportOrDB are the dependencies no domain package may have: generated code, grpc and the
// gateway, PostgreSQL drivers and protobuf runtime types.
var transportOrDB = []string{
	module + "/gen",
	"google.golang.org/grpc",
	"google.golang.org/protobuf",
	"google.golang.org/genproto",
	"github.com/grpc-ecosystem",
	"github.com/jackc/",
	"buf.build/",
}

var layers = []layer{
	{pkg: "observation"},
	{pkg: "progress", mayUse: []string{"observation"}},
	{pkg: "roster", mayUse: []string{"observation"}},
	{pkg: "sync", mayUse: []string{"observation"}},
	{pkg: "tablet", mayUse: []string{"observation", "sync"}},
	{pkg: "identity", mayUse: []string{"observation"}},
	// The store may use the domain, never the transport.
	{pkg: "store", mayUse: []string{"observation", "progress", "roster", "sync", "identity"}},
	// The server may use everything above and gen/, never the development tools in internal/.
	{pkg: "server", mayUse: []string{"observation", "progress", "roster", "sync", "tablet", "identity", "store", "gen", "web"}},
	// The embedded front ends are files: the standard library serves them.
	{pkg: "web"},
}

type listed struct {
	ImportPath string
	Deps       []string
}

func goList(t *testing.T, pkg string) listed {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./"+pkg).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list ./%s: %v\n%s", pkg, err, stderr)
	}
	var l listed
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatalf("go list ./%s: %v", pkg, err)
	}
	return l
}

// TestImportRules fails when a package depends on something its layer may not: the domain on
// generated code, grpc or pgx, or any package on a lookfor package above it.
func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to list imports")
	}
	for _, l := range layers {
		t.Run(l.pkg, func(t *testing.T) {
			got := goList(t, l.pkg)
			forbidden := transportOrDB
			switch l.pkg {
			case "store":
				// The store is where pgx lives; it still never sees the transport.
				forbidden = []string{module + "/gen", "google.golang.org/grpc", "github.com/grpc-ecosystem"}
			case "server":
				forbidden = nil // the transport itself; its lookfor dependencies are checked below
			}
			for _, dep := range got.Deps {
				for _, f := range forbidden {
					if strings.HasPrefix(dep, f) {
						t.Errorf("%s depends on %s; docs/architecture.md forbids %s* here", l.pkg, dep, f)
					}
				}
				own, ok := strings.CutPrefix(dep, module+"/")
				if !ok {
					continue
				}
				top, _, _ := strings.Cut(own, "/")
				if top == l.pkg {
					continue
				}
				if !slices.Contains(l.mayUse, top) {
					t.Errorf("%s depends on %s; docs/architecture.md allows only %v", l.pkg, dep, l.mayUse)
				}
			}
		})
	}
}

// TestImportRulesCatchAViolation makes sure the check above can fail: the server imports
// generated code and grpc, and must be reported if it were held to the domain's rules.
func TestImportRulesCatchAViolation(t *testing.T) {
	got := goList(t, "server")
	var hits int
	for _, dep := range got.Deps {
		for _, f := range transportOrDB {
			if strings.HasPrefix(dep, f) {
				hits++
			}
		}
	}
	if hits == 0 {
		t.Fatal("server shows no generated, grpc or pgx dependency: go list is not reporting dependencies")
	}
}
