package identity_test

import (
	"context"
	"testing"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	devIssuer    = "lookfor-dev"
	googleIssuer = "https://accounts.google.com" // a shared issuer: several districts trust it
)

// seeded returns a store holding the demo network and a resolver trusting devIssuer network-wide
// by subject.
func seeded(t *testing.T) (*store.Store, *identity.Resolver, demo.Roster) {
	t.Helper()
	st := pgtest.NewStore(t)
	n := demo.Network()
	if err := st.UpsertRoster(context.Background(), store.Roster{Districts: n.Districts, Sites: n.Sites, Classrooms: n.Classrooms,
		Staff: n.Staff, NetworkStaff: n.NetworkStaff}); err != nil {
		t.Fatal(err)
	}
	return st, identity.NewResolver(st, identity.Trust{Issuer: devIssuer, LinkClaim: identity.LinkSubject}), n
}

func staffByID(t *testing.T, n demo.Roster, id string) roster.Staff {
	t.Helper()
	for _, s := range n.Staff {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no demo staff %s", id)
	return roster.Staff{}
}

func wantRefused(t *testing.T, err error, kind observation.Kind, reason_ string) {
	t.Helper()
	if observation.KindOf(err) != kind || reason(err) != reason_ {
		t.Fatalf("err = %v (kind %v, reason %q), want %v %s", err, observation.KindOf(err), reason(err), kind, reason_)
	}
}

// TestResolveBySubject: a network-trusted issuer linking by subject resolves to the roster's
// scope, for district staff and network-level people alike; later calls follow the link.
func TestResolveBySubject(t *testing.T) {
	ctx := context.Background()
	st, r, n := seeded(t)
	coach := staffByID(t, n, "riverbend-usd.coach-1")
	p, err := r.Resolve(ctx, identity.Identity{Issuer: devIssuer, Subject: coach.ID})
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != coach.ID || p.Role != observation.RoleCoach || p.DistrictID != "riverbend-usd" || len(p.SiteIDs) != len(coach.SiteIDs) {
		t.Fatalf("principal %+v, want the roster's coach %+v", p, coach)
	}
	admin, err := r.Resolve(ctx, identity.Identity{Issuer: devIssuer, Subject: "admin-1"})
	if err != nil || admin.Role != observation.RoleAdmin || admin.DistrictID != "" {
		t.Fatalf("admin: %+v %v", admin, err)
	}
	// The link was audited in the coach's district.
	entries, err := st.ListAudit(ctx, observation.AuditQuery{DistrictID: "riverbend-usd", Action: "identity.link", Limit: 10})
	if err != nil || len(entries) != 1 || entries[0].Actor != coach.ID || entries[0].Details["issuer"] != devIssuer {
		t.Fatalf("audit %+v %v", entries, err)
	}
	// A roster change shows at the next resolution: a site removed, then the record inactive.
	if err := st.EnsureStaff(ctx, identity.Staff{DistrictID: "riverbend-usd", StaffID: coach.ID, Role: "coach", SiteIDs: coach.SiteIDs[:1]}); err != nil {
		t.Fatal(err)
	}
	if p, err = r.Resolve(ctx, identity.Identity{Issuer: devIssuer, Subject: coach.ID}); err != nil || len(p.SiteIDs) != 1 {
		t.Fatalf("after removing sites: %+v %v", p, err)
	}
	for _, status := range []identity.Status{identity.StatusInactive, identity.StatusToBeDeleted} {
		if err := st.SetStaffStatus(ctx, "riverbend-usd", coach.ID, status); err != nil {
			t.Fatal(err)
		}
		_, err = r.Resolve(ctx, identity.Identity{Issuer: devIssuer, Subject: coach.ID})
		wantRefused(t, err, observation.KindPermissionDenied, identity.ReasonStaffInactive)
	}
	// Teachers are on the roster but do not sign in; strangers are not on it.
	_, err = r.Resolve(ctx, identity.Identity{Issuer: devIssuer, Subject: "riverbend-usd.teacher-001"})
	wantRefused(t, err, observation.KindPermissionDenied, identity.ReasonNotAnObserver)
	_, err = r.Resolve(ctx, identity.Identity{Issuer: devIssuer, Subject: "nobody"})
	wantRefused(t, err, observation.KindPermissionDenied, identity.ReasonNotRostered)
	// An issuer nobody trusts.
	_, err = r.Resolve(ctx, identity.Identity{Issuer: "https://evil.example", Subject: coach.ID, Email: coach.Email, EmailVerified: true})
	wantRefused(t, err, observation.KindUnauthenticated, identity.ReasonIssuerUntrusted)
}

// TestResolveByEmail: districts sharing an issuer link a first sign-in by verified email within
// their email domains and audiences; after that the subject alone decides.
func TestResolveByEmail(t *testing.T) {
	ctx := context.Background()
	st, r, n := seeded(t)
	for _, tr := range []identity.Trust{
		{DistrictID: "riverbend-usd", Issuer: googleIssuer, Audiences: []string{"rb-client"}, EmailDomains: []string{"example.org"}},
		{DistrictID: "mesa-verde-sd", Issuer: googleIssuer, Audiences: []string{"mv-client"}, EmailDomains: []string{"mesaverde.example"}},
	} {
		if err := st.TrustIssuer(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	coach := staffByID(t, n, "riverbend-usd.coach-1")
	id := identity.Identity{Issuer: googleIssuer, Subject: "10987654321", Email: coach.Email, EmailVerified: true, Audience: []string{"rb-client"}}

	unverified := id
	unverified.EmailVerified = false
	_, err := r.Resolve(ctx, unverified)
	wantRefused(t, err, observation.KindPermissionDenied, identity.ReasonEmailUnverified)

	otherAudience := id
	otherAudience.Audience = []string{"mv-client"} // mesa verde's client, but a riverbend address
	_, err = r.Resolve(ctx, otherAudience)
	wantRefused(t, err, observation.KindPermissionDenied, identity.ReasonNotRostered)

	p, err := r.Resolve(ctx, id)
	if err != nil || p.UserID != coach.ID || p.DistrictID != "riverbend-usd" {
		t.Fatalf("first sign-in: %+v %v", p, err)
	}
	// Linked: a changed (or missing) email no longer matters, the subject does.
	id.Email, id.EmailVerified = "someone.else@example.org", false
	if p, err = r.Resolve(ctx, id); err != nil || p.UserID != coach.ID {
		t.Fatalf("linked sign-in: %+v %v", p, err)
	}

	// The district stops trusting the issuer: the link no longer counts, at the next resolution
	// (read from the database, whatever a process holds in memory); trusted again, it does.
	if _, err := st.Pool().Exec(ctx, `DELETE FROM identity_issuers WHERE district_id = 'riverbend-usd' AND issuer = $1`, googleIssuer); err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(ctx, id)
	wantRefused(t, err, observation.KindPermissionDenied, identity.ReasonNotRostered) // mesa verde trusts it, but not for this address
	if err := st.TrustIssuer(ctx, identity.Trust{DistrictID: "riverbend-usd", Issuer: googleIssuer, Audiences: []string{"rb-client"}}); err != nil {
		t.Fatal(err)
	}
	if p, err = r.Resolve(ctx, id); err != nil || p.UserID != coach.ID {
		t.Fatalf("trusted again: %+v %v", p, err)
	}
	// Trusted, but no longer for the token's audience: refused at the next resolution too.
	if err := st.TrustIssuer(ctx, identity.Trust{DistrictID: "riverbend-usd", Issuer: googleIssuer, Audiences: []string{"rb-other"}}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(ctx, id)
	wantRefused(t, err, observation.KindPermissionDenied, identity.ReasonNotRostered)
	if err := st.TrustIssuer(ctx, identity.Trust{DistrictID: "riverbend-usd", Issuer: googleIssuer, Audiences: []string{"rb-client"}}); err != nil {
		t.Fatal(err)
	}
	if p, err = r.Resolve(ctx, id); err != nil || p.UserID != coach.ID {
		t.Fatalf("trusted for its audience again: %+v %v", p, err)
	}

	// The same address on two districts' rosters, both trusting the issuer for every domain:
	// ambiguous, never a guess.
	for _, d := range []string{"riverbend-usd", "mesa-verde-sd"} {
		if err := st.TrustIssuer(ctx, identity.Trust{DistrictID: d, Issuer: "https://shared.example", Audiences: []string{"lookfor"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.UpsertRoster(ctx, store.Roster{Staff: []roster.Staff{{DistrictID: "mesa-verde-sd", ID: "mv-dup", Email: "Dup@Example.org", Role: roster.StaffCoach},
		{DistrictID: "riverbend-usd", ID: "rb-dup", Email: "dup@example.org", Role: roster.StaffCoach}}}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(ctx, identity.Identity{Issuer: "https://shared.example", Subject: "s", Email: "DUP@example.org", EmailVerified: true, Audience: []string{"lookfor"}})
	wantRefused(t, err, observation.KindPermissionDenied, identity.ReasonAmbiguous)
}

// TestResolveConcurrentFirstSignIn: a tablet's parallel first calls link the identity once, all
// succeed, and the link is audited once.
func TestResolveConcurrentFirstSignIn(t *testing.T) {
	ctx := context.Background()
	st, r, _ := seeded(t)
	const n = 16
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := r.Resolve(ctx, identity.Identity{Issuer: devIssuer, Subject: "riverbend-usd.coach-2"})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	entries, err := st.ListAudit(ctx, observation.AuditQuery{DistrictID: "riverbend-usd", Action: "identity.link", Limit: 10})
	if err != nil || len(entries) != 1 {
		t.Fatalf("%d link audit entries (%v), want 1", len(entries), err)
	}
}

// TestRosterImportEndsSignIn: a roster import that lists a person with OneRoster status
// tobedeleted (or inactive) ends their sign-in at the next call; listing them as active again
// restores it. Nobody is created by an ended row.
func TestRosterImportEndsSignIn(t *testing.T) {
	ctx := context.Background()
	st, r, n := seeded(t)
	coach := staffByID(t, n, "riverbend-usd.coach-2")
	id := identity.Identity{Issuer: devIssuer, Subject: coach.ID}
	if _, err := r.Resolve(ctx, id); err != nil {
		t.Fatal(err)
	}
	write := func(b roster.Batch) roster.Counts {
		t.Helper()
		c, err := st.ApplyRoster(ctx, roster.Write{DistrictID: "riverbend-usd", Batch: b})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	write(roster.Batch{Ended: map[string]string{coach.ID: "tobedeleted", "never-rostered": "tobedeleted"}})
	_, err := r.Resolve(ctx, id)
	wantRefused(t, err, observation.KindPermissionDenied, identity.ReasonStaffInactive)
	var created int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM staff WHERE staff_id = 'never-rostered'`).Scan(&created); err != nil || created != 0 {
		t.Fatalf("an ended row created a record (%d, %v)", created, err)
	}
	active := coach
	active.Status = "active"
	if c := write(roster.Batch{Staff: []roster.Staff{active}}); c.Staff.Updated != 1 {
		t.Fatalf("reactivating counts %+v, want 1 updated", c.Staff)
	}
	if p, err := r.Resolve(ctx, id); err != nil || p.UserID != coach.ID {
		t.Fatalf("after reactivation: %+v %v", p, err)
	}
}
