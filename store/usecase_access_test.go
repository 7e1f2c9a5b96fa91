package store_test

// Tests of the rubric use-cases (observation.Rubrics) running on the real store.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/store"
)

var matrixPrincipals = []struct {
	name string
	p    observation.Principal
}{
	{"coach", pCoach},
	{"principal", pPrincipal},
	{"district_admin", pDistrictAdmin},
	{"other_district_admin", pOtherDistrictAdmin},
	{"network_analyst", pAnalyst},
	{"admin", pAdmin},
}

// matrixAction runs one action by p on a rubric of owner seeded for it, checks the outcome and
// checks that the database holds exactly what the outcome implies.
type matrixAction struct {
	name string
	run  func(t *testing.T, st *store.Store, r *observation.Rubrics, p observation.Principal, owner, id string, want outcome)
}

var matrixActions = []matrixAction{
	{"Create", func(t *testing.T, st *store.Store, r *observation.Rubrics, p observation.Principal, owner, id string, want outcome) {
		ctx := context.Background()
		v, err := r.Create(ctx, p, owner, id, testContent("Created"))
		assertOutcome(t, err, want)
		stored, gerr := st.GetRubricVersion(ctx, id, 1)
		if want != allowed {
			assertKind(t, gerr, observation.KindNotFound, "")
			return
		}
		mustNoErr(t, gerr)
		assertSameVersion(t, stored, v)
		if stored.OwnerID != owner || stored.Status != observation.StatusDraft || stored.CreatedBy != p.UserID {
			t.Errorf("stored %s %s by %s", stored.OwnerID, stored.Status, stored.CreatedBy)
		}
	}},
	{"CreateDraft", func(t *testing.T, st *store.Store, r *observation.Rubrics, p observation.Principal, owner, id string, want outcome) {
		ctx := context.Background()
		seedRubric(t, st, owner, id, false)
		v, err := r.CreateDraft(ctx, p, id, nil)
		assertOutcome(t, err, want)
		if want != allowed {
			if n := countVersions(t, st, id); n != 1 {
				t.Errorf("%d versions after a refused CreateDraft", n)
			}
			return
		}
		stored, err := st.GetRubricVersion(ctx, id, 2)
		mustNoErr(t, err)
		assertSameVersion(t, stored, v)
		if stored.Status != observation.StatusDraft || stored.OwnerID != owner || stored.CreatedBy != p.UserID {
			t.Errorf("v2: %s owner %s by %s", stored.Status, stored.OwnerID, stored.CreatedBy)
		}
	}},
	{"UpdateDraft", func(t *testing.T, st *store.Store, r *observation.Rubrics, p observation.Principal, owner, id string, want outcome) {
		ctx := context.Background()
		seedRubric(t, st, owner, id, true)
		before := versionRow(t, st, id, 2)
		edited := testContent("Edited")
		_, err := r.UpdateDraft(ctx, p, id, 2, edited, before.Hash)
		assertOutcome(t, err, want)
		after := versionRow(t, st, id, 2)
		if want != allowed {
			if after != before {
				t.Errorf("draft changed by a refused update")
			}
			return
		}
		if after.Hash != edited.Hash() || after.Status != "draft" {
			t.Errorf("draft after update: %+v", after)
		}
	}},
	{"UpdatePublished", func(t *testing.T, st *store.Store, r *observation.Rubrics, p observation.Principal, owner, id string, want outcome) {
		ctx := context.Background()
		seedRubric(t, st, owner, id, true)
		before := versionRow(t, st, id, 1)
		_, err := r.UpdateDraft(ctx, p, id, 1, testContent("Edited"), "")
		assertOutcome(t, err, want)
		if after := versionRow(t, st, id, 1); after != before {
			t.Errorf("published version changed")
		}
	}},
	{"Publish", func(t *testing.T, st *store.Store, r *observation.Rubrics, p observation.Principal, owner, id string, want outcome) {
		ctx := context.Background()
		seedRubric(t, st, owner, id, true)
		_, err := r.Publish(ctx, p, id, 2)
		assertOutcome(t, err, want)
		wantStatus := "draft"
		if want == allowed {
			wantStatus = "published"
		}
		if got := versionRow(t, st, id, 2).Status; got != wantStatus {
			t.Errorf("v2 is %s, want %s", got, wantStatus)
		}
	}},
	{"Retire", func(t *testing.T, st *store.Store, r *observation.Rubrics, p observation.Principal, owner, id string, want outcome) {
		ctx := context.Background()
		seedRubric(t, st, owner, id, true)
		_, err := r.Retire(ctx, p, id, 1)
		assertOutcome(t, err, want)
		wantStatus := "published"
		if want == allowed {
			wantStatus = "retired"
		}
		if got := versionRow(t, st, id, 1).Status; got != wantStatus {
			t.Errorf("v1 is %s, want %s", got, wantStatus)
		}
	}},
	{"GetPublished", func(t *testing.T, st *store.Store, r *observation.Rubrics, p observation.Principal, owner, id string, want outcome) {
		ctx := context.Background()
		seedRubric(t, st, owner, id, true)
		for _, version := range []int{1, 0} {
			v, err := r.Get(ctx, p, id, version)
			assertOutcome(t, err, want)
			if want == allowed && (v.Version != 1 || v.Status != observation.StatusPublished || v.OwnerID != owner) {
				t.Errorf("Get(%d) = v%d %s %s", version, v.Version, v.Status, v.OwnerID)
			}
		}
	}},
	{"GetDraft", func(t *testing.T, st *store.Store, r *observation.Rubrics, p observation.Principal, owner, id string, want outcome) {
		ctx := context.Background()
		seedRubric(t, st, owner, id, true)
		v, err := r.Get(ctx, p, id, 2)
		assertOutcome(t, err, want)
		if want == allowed && (v.Version != 2 || v.Status != observation.StatusDraft) {
			t.Errorf("Get(2) = v%d %s", v.Version, v.Status)
		}
	}},
	{"List", func(t *testing.T, st *store.Store, r *observation.Rubrics, p observation.Principal, owner, id string, want outcome) {
		ctx := context.Background()
		seedRubric(t, st, owner, id, true)
		list, err := r.List(ctx, p)
		mustNoErr(t, err)
		i := slices.IndexFunc(list, func(rb observation.Rubric) bool { return rb.ID == id })
		switch {
		case want == notFound:
			if i >= 0 {
				t.Errorf("rubric listed for a caller outside its scope")
			}
		case i < 0:
			t.Errorf("rubric not listed")
		default:
			var versions []int
			for _, v := range list[i].Versions {
				versions = append(versions, v.Version)
			}
			wantVersions := []int{1, 2}
			if want == noDrafts {
				wantVersions = []int{1}
			}
			if !slices.Equal(versions, wantVersions) {
				t.Errorf("listed versions %v, want %v", versions, wantVersions)
			}
		}
		// Whatever the caller, nothing of another owner it may not see is listed.
		for _, rb := range list {
			if !p.CanSeeRubric(rb.OwnerID) {
				t.Errorf("listed %s/%s", rb.OwnerID, rb.ID)
			}
		}
	}},
}

// Expected outcomes by principal and action.
var (
	editorOutcomes = map[string]outcome{
		"Create": allowed, "CreateDraft": allowed, "UpdateDraft": allowed, "UpdatePublished": immutable,
		"Publish": allowed, "Retire": allowed, "GetPublished": allowed, "GetDraft": allowed, "List": allowed,
	}
	// Readers see published versions; edits of what they see are denied, and drafts are hidden.
	readerOutcomes = map[string]outcome{
		"Create": denied, "CreateDraft": denied, "UpdateDraft": notFound, "UpdatePublished": denied,
		"Publish": notFound, "Retire": denied, "GetPublished": allowed, "GetDraft": notFound, "List": noDrafts,
	}
	// Outsiders learn nothing.
	outsiderOutcomes = map[string]outcome{
		"Create": notFound, "CreateDraft": notFound, "UpdateDraft": notFound, "UpdatePublished": notFound,
		"Publish": notFound, "Retire": notFound, "GetPublished": notFound, "GetDraft": notFound, "List": notFound,
	}
	matrixExpect = map[string]map[string]map[string]outcome{ // owner kind → principal → action
		"district": {
			"coach": readerOutcomes, "principal": readerOutcomes, "district_admin": editorOutcomes,
			"other_district_admin": outsiderOutcomes, "network_analyst": outsiderOutcomes, "admin": editorOutcomes,
		},
		"network": {
			"coach": readerOutcomes, "principal": readerOutcomes, "district_admin": readerOutcomes,
			"other_district_admin": readerOutcomes, "network_analyst": readerOutcomes, "admin": editorOutcomes,
		},
	}
)

func TestRubricAccessMatrix(t *testing.T) {
	t.Parallel()
	for _, ownerKind := range []string{"district", "network"} {
		owner := riverbend
		if ownerKind == "network" {
			owner = observation.NetworkOwner
		}
		t.Run(ownerKind, func(t *testing.T) {
			t.Parallel()
			st, r := newRubrics(t)
			// The real default rubric is there too, as in every deployment.
			_, err := st.EnsurePublishedRubric(context.Background(), observation.DefaultRubricVersion(now()))
			mustNoErr(t, err)
			for _, mp := range matrixPrincipals {
				for _, a := range matrixActions {
					want, ok := matrixExpect[ownerKind][mp.name][a.name]
					if !ok {
						t.Fatalf("no expectation for %s %s %s", ownerKind, mp.name, a.name)
					}
					id := fmt.Sprintf("%s-%s-%s", ownerKind, mp.name, strings.ToLower(a.name))
					t.Run(mp.name+"/"+a.name, func(t *testing.T) {
						t.Parallel()
						a.run(t, st, r, mp.p, owner, id, want)
					})
				}
			}
		})
	}
}

// TestHiddenRubricsLookMissing checks that a caller outside a rubric's scope, or asking for a
// draft it may not see, gets exactly the error a missing rubric would give (DESIGN §8).
func TestHiddenRubricsLookMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, r := newRubrics(t)
	seedRubric(t, st, riverbend, "hidden", true)
	mustNoErr(t, st.CreateRubric(ctx, newVersion(riverbend, "drafts-only", 1, observation.StatusDraft, testContent("Drafts only")), observation.AuditEntry{}))
	const ghost = "ghost-rubric"

	type call func(p observation.Principal, id string) error
	get := func(version int) call {
		return func(p observation.Principal, id string) error { _, err := r.Get(ctx, p, id, version); return err }
	}
	update := func(version int) call {
		return func(p observation.Principal, id string) error {
			_, err := r.UpdateDraft(ctx, p, id, version, testContent("X"), "")
			return err
		}
	}
	publish := func(version int) call {
		return func(p observation.Principal, id string) error { _, err := r.Publish(ctx, p, id, version); return err }
	}
	retire := func(version int) call {
		return func(p observation.Principal, id string) error { _, err := r.Retire(ctx, p, id, version); return err }
	}
	createDraft := func(p observation.Principal, id string) error { _, err := r.CreateDraft(ctx, p, id, nil); return err }

	cases := []struct {
		name string
		p    observation.Principal
		id   string
		call call
	}{
		{"other district admin gets v1", pOtherDistrictAdmin, "hidden", get(1)},
		{"other district admin gets v2", pOtherDistrictAdmin, "hidden", get(2)},
		{"other district admin gets newest", pOtherDistrictAdmin, "hidden", get(0)},
		{"analyst gets v1", pAnalyst, "hidden", get(1)},
		{"analyst gets newest", pAnalyst, "hidden", get(0)},
		{"coach gets a draft", pCoach, "hidden", get(2)},
		{"coach gets newest of drafts only", pCoach, "drafts-only", get(0)},
		{"other district admin updates", pOtherDistrictAdmin, "hidden", update(2)},
		{"coach updates a draft", pCoach, "hidden", update(2)},
		{"other district admin publishes", pOtherDistrictAdmin, "hidden", publish(2)},
		{"principal publishes a draft", pPrincipal, "hidden", publish(2)},
		{"other district admin retires", pOtherDistrictAdmin, "hidden", retire(1)},
		{"analyst retires", pAnalyst, "hidden", retire(1)},
		{"other district admin creates a draft", pOtherDistrictAdmin, "hidden", createDraft},
		{"coach creates a draft of drafts only", pCoach, "drafts-only", createDraft},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hidden := assertKind(t, c.call(c.p, c.id), observation.KindNotFound, "NOT_FOUND")
			missing := assertKind(t, c.call(c.p, ghost), observation.KindNotFound, "NOT_FOUND")
			got := strings.ReplaceAll(hidden.Error(), c.id, ghost)
			if got != missing.Error() || hidden.Field != missing.Field {
				t.Errorf("hidden rubric: %q (field %q); missing rubric: %q (field %q)", got, hidden.Field, missing.Error(), missing.Field)
			}
		})
	}
	// Nothing was changed by any of the refused calls.
	for v, want := range map[int]string{1: "published", 2: "draft"} {
		if got := versionRow(t, st, "hidden", v).Status; got != want {
			t.Errorf("hidden v%d is %s, want %s", v, got, want)
		}
	}
	if n := countVersions(t, st, "hidden"); n != 2 {
		t.Errorf("hidden has %d versions, want 2", n)
	}
}
