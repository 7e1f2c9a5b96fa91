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

func TestRubricLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, r := newRubrics(t)
	p := pDistrictAdmin
	const id = "lifecycle"

	v1, err := r.Create(ctx, p, riverbend, id, testContent("Lifecycle v1"))
	mustNoErr(t, err)
	if v1.Version != 1 || v1.Status != observation.StatusDraft || v1.PublishedAt != nil {
		t.Fatalf("created %+v", v1)
	}

	// Editing a draft, with and without the expected hash.
	edited := testContent("Lifecycle v1 edited")
	got, err := r.UpdateDraft(ctx, p, id, 1, edited, v1.ContentHash)
	mustNoErr(t, err)
	if got.ContentHash != edited.Hash() || got.Status != observation.StatusDraft {
		t.Fatalf("after edit: %s %s", got.ContentHash, got.Status)
	}
	t.Run("stale expected hash", func(t *testing.T) {
		before := versionRow(t, st, id, 1)
		_, err := r.UpdateDraft(ctx, p, id, 1, testContent("Lost update"), v1.ContentHash)
		e := assertKind(t, err, observation.KindFailedPrecondition, "RUBRIC_VERSION_CHANGED")
		if !strings.Contains(e.Message, edited.Hash()) {
			t.Errorf("message does not give the current hash: %q", e.Message)
		}
		if after := versionRow(t, st, id, 1); after != before {
			t.Error("a refused update changed the draft")
		}
	})

	// Publishing freezes it; publishing again is a no-op success.
	pub, err := r.Publish(ctx, p, id, 1)
	mustNoErr(t, err)
	if pub.Status != observation.StatusPublished || pub.PublishedAt == nil || pub.ContentHash != edited.Hash() {
		t.Fatalf("published %+v", pub)
	}
	stored, err := r.Get(ctx, p, id, 0)
	mustNoErr(t, err)
	assertSameVersion(t, stored, pub)
	t.Run("publish twice", func(t *testing.T) {
		before := versionRow(t, st, id, 1)
		again, err := r.Publish(ctx, p, id, 1)
		mustNoErr(t, err)
		assertSameVersion(t, again, pub)
		if after := versionRow(t, st, id, 1); after != before {
			t.Errorf("second publish wrote the row: %+v, was %+v", after, before)
		}
	})
	t.Run("edit published", func(t *testing.T) {
		before := versionRow(t, st, id, 1)
		_, err := r.UpdateDraft(ctx, p, id, 1, testContent("Too late"), "")
		e := assertKind(t, err, observation.KindFailedPrecondition, "RUBRIC_VERSION_IMMUTABLE")
		if !strings.Contains(e.Message, "can no longer be edited") {
			t.Errorf("message %q does not say the version can't be edited", e.Message)
		}
		if after := versionRow(t, st, id, 1); after != before {
			t.Error("published version changed")
		}
	})

	// A new draft without content copies the newest version.
	v2, err := r.CreateDraft(ctx, p, id, nil)
	mustNoErr(t, err)
	if v2.Version != 2 || v2.Status != observation.StatusDraft || v2.ContentHash != pub.ContentHash {
		t.Fatalf("v2 %d %s %s, want a draft copy of v1 (%s)", v2.Version, v2.Status, v2.ContentHash, pub.ContentHash)
	}
	stored, err = r.Get(ctx, p, id, 2)
	mustNoErr(t, err)
	assertSameVersion(t, stored, v2)
	if stored.Content.Hash() != pub.ContentHash {
		t.Error("v2's stored content differs from v1's")
	}
	if got, err := r.Get(ctx, p, id, 0); err != nil || got.Version != 1 {
		t.Fatalf("newest published with a draft v2: v%d, %v", got.Version, err)
	}

	t.Run("retire a draft", func(t *testing.T) {
		_, err := r.Retire(ctx, p, id, 2)
		assertKind(t, err, observation.KindFailedPrecondition, "RUBRIC_VERSION_DRAFT")
		if s := versionRow(t, st, id, 2).Status; s != "draft" {
			t.Errorf("v2 is %s", s)
		}
	})

	_, err = r.Publish(ctx, p, id, 2)
	mustNoErr(t, err)
	if got, err := r.Get(ctx, p, id, 0); err != nil || got.Version != 2 {
		t.Fatalf("newest published after publishing v2: v%d, %v", got.Version, err)
	}

	// Retiring v2 falls back to v1; retiring v1 too leaves nothing published.
	ret, err := r.Retire(ctx, p, id, 2)
	mustNoErr(t, err)
	if ret.Status != observation.StatusRetired || ret.RetiredAt == nil || ret.PublishedAt == nil {
		t.Fatalf("retired %+v", ret)
	}
	if got, err := r.Get(ctx, p, id, 0); err != nil || got.Version != 1 {
		t.Fatalf("newest published after retiring v2: v%d, %v", got.Version, err)
	}
	t.Run("retire twice", func(t *testing.T) {
		before := versionRow(t, st, id, 2)
		again, err := r.Retire(ctx, p, id, 2)
		mustNoErr(t, err)
		assertSameVersion(t, again, ret)
		if after := versionRow(t, st, id, 2); after != before {
			t.Error("second retire wrote the row")
		}
	})
	t.Run("publish retired", func(t *testing.T) {
		_, err := r.Publish(ctx, p, id, 2)
		assertKind(t, err, observation.KindFailedPrecondition, "RUBRIC_VERSION_RETIRED")
		if s := versionRow(t, st, id, 2).Status; s != "retired" {
			t.Errorf("v2 is %s", s)
		}
	})
	t.Run("edit retired", func(t *testing.T) {
		_, err := r.UpdateDraft(ctx, p, id, 2, testContent("No"), "")
		assertKind(t, err, observation.KindFailedPrecondition, "RUBRIC_VERSION_IMMUTABLE")
	})
	// Retired versions stay readable by explicit number.
	if got, err := r.Get(ctx, pCoach, id, 2); err != nil || got.Status != observation.StatusRetired {
		t.Errorf("coach reading retired v2: %v %v", got.Status, err)
	}

	_, err = r.Retire(ctx, p, id, 1)
	mustNoErr(t, err)
	_, err = r.Get(ctx, p, id, 0)
	assertKind(t, err, observation.KindNotFound, "NOT_FOUND")

	// A new draft still copies the newest version, retired or not.
	v3, err := r.CreateDraft(ctx, p, id, nil)
	mustNoErr(t, err)
	if v3.Version != 3 || v3.ContentHash != v2.ContentHash {
		t.Errorf("v3 %d %s", v3.Version, v3.ContentHash)
	}
	// With content, the draft has that content.
	c4 := testContent("Lifecycle v4")
	v4, err := r.CreateDraft(ctx, p, id, &c4)
	mustNoErr(t, err)
	if v4.Version != 4 || v4.ContentHash != c4.Hash() {
		t.Errorf("v4 %d %s", v4.Version, v4.ContentHash)
	}
}

func TestRubricCreateErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, r := newRubrics(t)
	seedRubric(t, st, riverbend, "taken", false)

	t.Run("duplicate id", func(t *testing.T) {
		for _, c := range []struct {
			p     observation.Principal
			owner string
		}{{pDistrictAdmin, riverbend}, {pAdmin, mesaVerde}, {pAdmin, observation.NetworkOwner}} {
			_, err := r.Create(ctx, c.p, c.owner, "taken", testContent("Again"))
			e := assertKind(t, err, observation.KindAlreadyExists, "")
			if e.Field != "rubric_id" {
				t.Errorf("field %q, want rubric_id", e.Field)
			}
		}
		got, err := st.GetRubricVersion(ctx, "taken", 1)
		mustNoErr(t, err)
		if got.OwnerID != riverbend || got.Content.Title["en"] != "Seed taken" {
			t.Errorf("existing rubric changed: %s %v", got.OwnerID, got.Content.Title)
		}
	})

	t.Run("bad ids", func(t *testing.T) {
		for _, c := range []struct{ owner, id, field string }{
			{riverbend, "", "rubric_id"}, {riverbend, "has space", "rubric_id"}, {"", "fine", "owner_id"}, {"bad/owner", "fine", "owner_id"},
		} {
			_, err := r.Create(ctx, pAdmin, c.owner, c.id, testContent("X"))
			e := assertKind(t, err, observation.KindInvalid, "")
			if e.Field != c.field {
				t.Errorf("Create(%q, %q): field %q, want %q", c.owner, c.id, e.Field, c.field)
			}
		}
	})
}

func TestRubricInvalidContent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, r := newRubrics(t)
	seedRubric(t, st, riverbend, "valid", true)
	before := versionRow(t, st, "valid", 2)

	bad := testContent("Bad")
	bad.Title = observation.Text{"en": "Only English"} // Spanish is listed, so it is required
	verr := domainErr(t, observation.ValidateRubricContent(bad))

	calls := map[string]func() error{
		"Create": func() error { _, err := r.Create(ctx, pDistrictAdmin, riverbend, "new-bad", bad); return err },
		"CreateDraft": func() error {
			_, err := r.CreateDraft(ctx, pDistrictAdmin, "valid", &bad)
			return err
		},
		"UpdateDraft": func() error {
			_, err := r.UpdateDraft(ctx, pDistrictAdmin, "valid", 2, bad, "")
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			e := assertKind(t, call(), observation.KindInvalid, verr.Reason)
			if !strings.HasPrefix(e.Field, "content.") {
				t.Fatalf("field %q does not start with content.", e.Field)
			}
			if e.Field != verr.Field { // the validator's path, not "content.content.…"
				t.Errorf("field %q, want %q", e.Field, verr.Field)
			}
		})
	}
	// Nothing was written.
	if _, err := st.GetRubricVersion(ctx, "new-bad", 1); observation.KindOf(err) != observation.KindNotFound {
		t.Errorf("invalid rubric stored: %v", err)
	}
	if n := countVersions(t, st, "valid"); n != 2 {
		t.Errorf("%d versions, want 2", n)
	}
	if after := versionRow(t, st, "valid", 2); after != before {
		t.Error("draft changed by an invalid update")
	}

	// A draft stored with invalid content (here straight through the store) cannot be published.
	mustNoErr(t, st.CreateRubric(ctx, newVersion(riverbend, "broken", 1, observation.StatusDraft, bad), observation.AuditEntry{}))
	_, err := r.Publish(ctx, pDistrictAdmin, "broken", 1)
	assertKind(t, err, observation.KindFailedPrecondition, "RUBRIC_VERSION_INVALID")
	if s := versionRow(t, st, "broken", 1).Status; s != "draft" {
		t.Errorf("broken v1 is %s", s)
	}
}

func TestRubricList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, r := newRubrics(t)
	_, err := st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(now()))
	mustNoErr(t, err)
	addVersion(t, st, observation.DefaultRubricID, observation.StatusDraft, testContent("Default next"))
	mustNoErr(t, st.CreateRubric(ctx, newVersion(observation.NetworkOwner, "net-drafts-only", 1, observation.StatusDraft, testContent("ND")), observation.AuditEntry{}))
	seedRubric(t, st, riverbend, "rb-pub", true)
	mustNoErr(t, st.CreateRubric(ctx, newVersion(riverbend, "rb-drafts-only", 1, observation.StatusDraft, testContent("RD")), observation.AuditEntry{}))
	seedRubric(t, st, mesaVerde, "mv-pub", false)
	seedRubric(t, st, lakeshore, "ls-pub", true)

	type entry struct {
		id       string
		versions int
	}
	def := observation.DefaultRubricID
	cases := []struct {
		name string
		p    observation.Principal
		want []entry
	}{
		{"admin", pAdmin, []entry{{def, 2}, {"net-drafts-only", 1}, {"ls-pub", 2}, {"mv-pub", 1}, {"rb-drafts-only", 1}, {"rb-pub", 2}}},
		{"district admin", pDistrictAdmin, []entry{{def, 1}, {"rb-drafts-only", 1}, {"rb-pub", 2}}},
		{"other district admin", pOtherDistrictAdmin, []entry{{def, 1}, {"mv-pub", 1}}},
		{"coach", pCoach, []entry{{def, 1}, {"rb-pub", 1}}},
		{"principal", pPrincipal, []entry{{def, 1}, {"rb-pub", 1}}},
		{"network analyst", pAnalyst, []entry{{def, 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			list, err := r.List(ctx, c.p)
			mustNoErr(t, err)
			var got []entry
			for _, rb := range list {
				got = append(got, entry{rb.ID, len(rb.Versions)})
				for _, v := range rb.Versions {
					if v.Status == observation.StatusDraft && !c.p.CanEditRubric(rb.OwnerID) {
						t.Errorf("%s: draft v%d listed", rb.ID, v.Version)
					}
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("listed %v, want %v", got, c.want)
			}
		})
	}
}
