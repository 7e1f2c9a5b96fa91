package store_test

// Tests of the rubric use-cases (observation.Rubrics) running on the real store.

import (
	"context"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/store"
)

// Principals of the matrix; the owner district of district rubrics is riverbend.
var (
	pCoach = observation.Principal{UserID: riverbend + ".coach-1", Role: observation.RoleCoach, DistrictID: riverbend,
		SiteIDs: []string{riverbend + ".lincoln-es", riverbend + ".cedar-grove-es"}}
	pPrincipal = observation.Principal{UserID: riverbend + ".principal-lincoln-es", Role: observation.RolePrincipal, DistrictID: riverbend,
		SiteIDs: []string{riverbend + ".lincoln-es"}}
	pDistrictAdmin      = observation.Principal{UserID: riverbend + ".district-admin", Role: observation.RoleDistrictAdmin, DistrictID: riverbend}
	pOtherDistrictAdmin = observation.Principal{UserID: mesaVerde + ".district-admin", Role: observation.RoleDistrictAdmin, DistrictID: mesaVerde}
	pAnalyst            = observation.Principal{UserID: "analyst-1", Role: observation.RoleNetworkAnalyst}
	pAdmin              = observation.Principal{UserID: "admin-1", Role: observation.RoleAdmin}
)

func newRubrics(t *testing.T) (*store.Store, *observation.Rubrics) {
	t.Helper()
	st := rubricStore(t)
	return st, &observation.Rubrics{Store: st, Now: now}
}

// seedRubric stores rubric id owned by owner as published version 1 — the network one through
// EnsurePublishedRubric, as `lookfor seed` does — and, with draft, a draft version 2.
func seedRubric(t *testing.T, st *store.Store, owner, id string, draft bool) {
	t.Helper()
	ctx := context.Background()
	if owner == observation.NetworkOwner {
		v := observation.DefaultRubricVersion(now())
		v.RubricID = id
		created, err := st.EnsurePublishedRubric(ctx, v)
		mustNoErr(t, err)
		if !created {
			t.Fatalf("rubric %s exists already", id)
		}
	} else {
		mustNoErr(t, st.CreateRubric(ctx, newVersion(owner, id, 1, observation.StatusPublished, testContent("Seed "+id)), observation.AuditEntry{}))
	}
	if draft {
		addVersion(t, st, id, observation.StatusDraft, testContent("Draft "+id))
	}
}

type outcome string

const (
	allowed   outcome = "ok"
	notFound  outcome = "not_found"
	denied    outcome = "permission_denied"
	immutable outcome = "immutable" // allowed to edit, but the version is published
	noDrafts  outcome = "no_drafts" // List: the rubric is listed without its drafts
)

func assertOutcome(t *testing.T, err error, want outcome) {
	t.Helper()
	switch want {
	case allowed, noDrafts:
		if err != nil {
			t.Fatalf("got %v, want success", err)
		}
	case notFound:
		assertKind(t, err, observation.KindNotFound, "NOT_FOUND")
	case denied:
		assertKind(t, err, observation.KindPermissionDenied, "PERMISSION_DENIED")
	case immutable:
		assertKind(t, err, observation.KindFailedPrecondition, "RUBRIC_VERSION_IMMUTABLE")
	default:
		t.Fatalf("bad outcome %q", want)
	}
}
