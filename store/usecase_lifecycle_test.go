package store_test

// Tests of the rubric use-cases (observation.Rubrics) running on the real store.

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
)

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
