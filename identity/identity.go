package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Identity is who a verified token says the caller is.
type Identity struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	Audience      []string // the token's aud values; decides which district trusts may link
}

// Status is a roster record's status (OneRoster's active / tobedeleted, and inactive).
type Status string

const (
	StatusActive      Status = "active"
	StatusInactive    Status = "inactive"
	StatusToBeDeleted Status = "tobedeleted"
)

// Statuses lists every status, in a stable order.
var Statuses = []Status{StatusActive, StatusInactive, StatusToBeDeleted}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Staff is the roster record an identity resolves to. DistrictID is observation.NetworkOwner for
// network-level people (admins and network analysts).
type Staff struct {
	DistrictID string
	StaffID    string
	Role       string // a roster role: teacher, coach, principal, district_admin, network_analyst, admin
	Status     Status
	SiteIDs    []string
}

// NetworkStaff is a network-level person: an admin or a network analyst. Admins manage these
// records; they belong to no district.
type NetworkStaff struct {
	StaffID    string
	GivenName  string
	FamilyName string
	Email      string
	Role       observation.Role // network_analyst or admin
	Status     Status           // empty: active
}

// LinkClaim is the claim a first sign-in is linked by.
type LinkClaim string

const (
	// LinkEmail links by the token's verified email (the default).
	LinkEmail LinkClaim = "email"
	// LinkSubject links by the subject being the staff id (OneRoster sourcedId).
	LinkSubject LinkClaim = "sub"
)

// Valid reports whether c is a known link claim.
func (c LinkClaim) Valid() bool { return c == LinkEmail || c == LinkSubject }

// Trust is one party trusting an issuer: a district (DistrictID set) or the whole network
// (DistrictID empty: every district and the network-level people).
type Trust struct {
	DistrictID   string
	Issuer       string
	Audiences    []string // empty: the verifier already checked the audience
	EmailDomains []string // empty: any
	LinkClaim    LinkClaim
	// WebClientID is the pages' client at the issuer (one of Audiences); empty: the pages do not
	// sign in at this issuer. WebClientSecretRef names the client secret's file in the server's
	// secrets directory (DIR/<district>/<ref>); the secret itself is never stored.
	WebClientID        string
	WebClientSecretRef string
}

// admits reports whether t may link id: the token's audience is one of t's and, when linking by
// email, the email's domain is one of t's.
func (t Trust) admits(id Identity) bool {
	if len(t.Audiences) > 0 && !slices.ContainsFunc(id.Audience, func(a string) bool { return slices.Contains(t.Audiences, a) }) {
		return false
	}
	if t.LinkClaim == LinkEmail && len(t.EmailDomains) > 0 {
		_, domain, _ := strings.Cut(strings.ToLower(id.Email), "@")
		return slices.Contains(t.EmailDomains, domain)
	}
	return true
}

// Candidates asks for the staff records a first sign-in could be: records of DistrictID (empty:
// any district and the network-level people) whose staff id (LinkSubject) or email (LinkEmail,
// compared case-insensitively) equals Value.
type Candidates struct {
	DistrictID string
	By         LinkClaim
	Value      string
}

// Store is the storage the resolver needs (implemented by store.Store).
type Store interface {
	// IdentityLinked returns the staff record (issuer, subject) is linked to; ok is false when
	// there is no link, or its record no longer exists. With audiences not nil (a district's
	// provider), ok is also false unless the record's district still trusts issuer for one of
	// audiences (the token's aud).
	IdentityLinked(ctx context.Context, issuer, subject string, audiences []string) (s Staff, ok bool, err error)
	// IdentityTrusts lists the districts that trust issuer.
	IdentityTrusts(ctx context.Context, issuer string) ([]Trust, error)
	// IdentityCandidates returns the distinct staff records matching any of qs.
	IdentityCandidates(ctx context.Context, qs []Candidates) ([]Staff, error)
	// IdentityLink links id to s and writes the audit entry, in one transaction.
	IdentityLink(ctx context.Context, id Identity, s Staff, audit observation.AuditEntry) error
}

// Reason codes of identity errors.
const (
	ReasonNotRostered     = "NOT_ROSTERED"
	ReasonStaffInactive   = "STAFF_INACTIVE"
	ReasonAmbiguous       = "IDENTITY_AMBIGUOUS"
	ReasonEmailUnverified = "EMAIL_UNVERIFIED"
	ReasonNotAnObserver   = "NOT_AN_OBSERVER"
	ReasonIssuerUntrusted = "TOKEN_ISSUER"
)

func denied(reason, format string, args ...any) *observation.Error {
	return &observation.Error{Kind: observation.KindPermissionDenied, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Resolver resolves identities to principals through the roster.
type Resolver struct {
	store Store
	// network are the issuers configured for the whole process (lookfor serve's --jwt-issuer):
	// trusted by every district and for network-level people.
	network map[string]Trust
	now     func() time.Time
}

// NewResolver returns a resolver reading st. network lists the process-wide trusted issuers.
func NewResolver(st Store, network ...Trust) *Resolver {
	r := &Resolver{store: st, network: map[string]Trust{}, now: time.Now}
	for _, t := range network {
		t.DistrictID = ""
		if !t.LinkClaim.Valid() {
			t.LinkClaim = LinkEmail
		}
		r.network[t.Issuer] = t
	}
	return r
}

// Resolve returns the principal id is, read from the roster now. It links a first sign-in (and
// audits the link). Errors: PERMISSION_DENIED with NOT_ROSTERED, STAFF_INACTIVE,
// IDENTITY_AMBIGUOUS, EMAIL_UNVERIFIED or NOT_AN_OBSERVER; UNAVAILABLE when storage fails.
func (r *Resolver) Resolve(ctx context.Context, id Identity) (observation.Principal, error) {
	var audiences []string // nil: a network issuer, trusted by this process's configuration
	if _, network := r.network[id.Issuer]; !network {
		audiences = id.Audience
		if audiences == nil {
			audiences = []string{}
		}
	}
	s, ok, err := r.store.IdentityLinked(ctx, id.Issuer, id.Subject, audiences)
	if err != nil {
		return observation.Principal{}, err
	}
	if !ok {
		if s, err = r.link(ctx, id); err != nil {
			return observation.Principal{}, err
		}
	}
	return Principal(s)
}

// link finds the one staff record a first sign-in may be and links it.
func (r *Resolver) link(ctx context.Context, id Identity) (Staff, error) {
	trusts, err := r.store.IdentityTrusts(ctx, id.Issuer)
	if err != nil {
		return Staff{}, err
	}
	if t, ok := r.network[id.Issuer]; ok {
		trusts = append(trusts, t)
	}
	var qs []Candidates
	needEmail := false
	var admitting, wanting []string // districts whose trusts admit the token; those that need a verified email
	for _, t := range trusts {
		if !t.admits(id) {
			continue
		}
		switch t.LinkClaim {
		case LinkSubject:
			qs = append(qs, Candidates{DistrictID: t.DistrictID, By: LinkSubject, Value: id.Subject})
			admitting = append(admitting, t.DistrictID)
		default:
			if id.Email == "" || !id.EmailVerified {
				needEmail = true
				wanting = append(wanting, t.DistrictID)
				continue
			}
			qs = append(qs, Candidates{DistrictID: t.DistrictID, By: LinkEmail, Value: id.Email})
			admitting = append(admitting, t.DistrictID)
		}
	}
	if len(qs) == 0 {
		if needEmail {
			return Staff{}, concerning(denied(ReasonEmailUnverified, "the token carries no verified email, which this identity provider's districts link first sign-ins by; ask the district to verify the address or to link the account"), only(wanting), "")
		}
		if len(trusts) == 0 {
			return Staff{}, &observation.Error{Kind: observation.KindUnauthenticated, Reason: ReasonIssuerUntrusted,
				Message: "the bearer token was issued by an issuer no district trusts"}
		}
		return Staff{}, denied(ReasonNotRostered, "no district that trusts this identity provider admits this account (audience or email domain)")
	}
	found, err := r.store.IdentityCandidates(ctx, qs)
	if err != nil {
		return Staff{}, err
	}
	switch len(found) {
	case 0:
		return Staff{}, concerning(denied(ReasonNotRostered, "this account is not on any district's roster; ask your district to add you (with this email address)"), only(admitting), "")
	case 1:
	default:
		ds := make([]string, len(found))
		for i, f := range found {
			ds[i] = f.DistrictID
		}
		return Staff{}, concerning(denied(ReasonAmbiguous, "this account matches %d roster records; ask your district to link it to one", len(found)), only(ds), "")
	}
	s := found[0]
	p, err := Principal(s)
	if err != nil {
		return Staff{}, err // never link an account that cannot sign in
	}
	a := observation.Audit(p, s.DistrictID, "identity.link", "staff", s.StaffID, r.now().UTC())
	a.Details["issuer"] = id.Issuer
	a.Details["subject"] = id.Subject
	if id.Email != "" {
		a.Details["email"] = id.Email
	}
	if err := r.store.IdentityLink(ctx, id, s, a); err != nil {
		return Staff{}, err
	}
	return s, nil
}

// only returns the one district ds name ("" when none or several; "" entries, the network-wide
// trust, count as none).
func only(ds []string) string {
	one := ""
	for _, d := range ds {
		if d == "" || (one != "" && d != one) {
			return ""
		}
		one = d
	}
	return one
}

// Principal is the scope a staff record grants: refused when the record is not active or is not
// someone who signs in (teachers).
func Principal(s Staff) (observation.Principal, error) {
	if s.Status != StatusActive {
		return observation.Principal{}, concerning(denied(ReasonStaffInactive, "the roster record %s is %s; sign-in is refused", s.StaffID, s.Status), s.DistrictID, s.StaffID)
	}
	p := observation.Principal{UserID: s.StaffID, Role: observation.Role(s.Role)}
	switch p.Role {
	case observation.RoleCoach, observation.RolePrincipal:
		p.DistrictID, p.SiteIDs = s.DistrictID, slices.Clone(s.SiteIDs)
	case observation.RoleDistrictAdmin:
		p.DistrictID = s.DistrictID
	case observation.RoleNetworkAnalyst, observation.RoleAdmin:
		if s.DistrictID != observation.NetworkOwner {
			return observation.Principal{}, concerning(denied(ReasonNotAnObserver, "roster record %s has network role %s in a district", s.StaffID, s.Role), s.DistrictID, s.StaffID)
		}
	default:
		return observation.Principal{}, concerning(denied(ReasonNotAnObserver, "the roster record %s is a %s; only coaches, principals and administrators sign in", s.StaffID, s.Role), s.DistrictID, s.StaffID)
	}
	return p, nil
}
