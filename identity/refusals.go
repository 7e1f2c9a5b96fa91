package identity

import (
	"context"
	"errors"
	"strings"
	gosync "sync"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// RefusalStore is where refused sign-ins are recorded (implemented by store.Store).
type RefusalStore interface {
	// IdentityDistrictsByDomain lists the districts naming domain among their email domains.
	IdentityDistrictsByDomain(ctx context.Context, domain string) ([]string, error)
	// AuditRefusal writes e into e.DistrictID's audit log if that district exists.
	AuditRefusal(ctx context.Context, e observation.AuditEntry) error
}

// How a refused identity arrived.
const (
	MethodWeb     = "web"     // the pages' sign-in (/auth/callback): every refusal is recorded
	MethodBearer  = "bearer"  // a call with a bearer token: a repeat within RefusalRepeat is not
	MethodSession = "session" // a call with the pages' session cookie: likewise
)

// RefusalRepeat is how long the same bearer refusal (district, identity, reason) is not
// recorded again by one process: a tablet retrying every few seconds with a token of someone
// made inactive leaves one entry a minute, not thousands.
const RefusalRepeat = time.Minute

// Refusals records refused sign-ins in the audit log of the district they concern.
type Refusals struct {
	Store RefusalStore
	// Domains, when set, answers IdentityDistrictsByDomain from memory (Trusted.DistrictsByDomain):
	// used for the unverified claims of an untrusted issuer's token, which must cause no database
	// work before the throttle. Without it such tokens are recorded only with a fallback district.
	Domains func(domain string) []string
	Now     func() time.Time

	mu   gosync.Mutex
	seen map[string]time.Time
}

// Record writes a refusal of id (err, a domain error) into the audit log of the district it
// concerns: the district the refusal names (the linked or matching staff record's, or the only
// district whose settings admitted the token), else the one district listing the email's domain,
// else fallback (the district whose provider a web sign-in used). It reports the district, or
// "" when none can be determined (then nothing is written; the caller logs the refusal). claims
// says whether id's claims were verified; a token of an untrusted issuer was not, and is
// recorded at most once per RefusalRepeat per district and method, whatever it claims. The
// token itself is never written.
func (r *Refusals) Record(ctx context.Context, id Identity, err error, method, fallback string, verified bool) (string, error) {
	var de *observation.Error
	if !errors.As(err, &de) || (de.Kind != observation.KindPermissionDenied && de.Kind != observation.KindUnauthenticated) {
		return "", nil // not a refusal (storage failed, say)
	}
	district := de.District
	if district == "" && id.Email != "" {
		if _, domain, ok := strings.Cut(strings.ToLower(id.Email), "@"); ok && domainPattern.MatchString(domain) {
			var ds []string
			switch {
			case verified:
				var err error
				if ds, err = r.Store.IdentityDistrictsByDomain(ctx, domain); err != nil {
					return "", err
				}
			case r.Domains != nil:
				ds = r.Domains(domain)
			}
			if len(ds) == 1 {
				district = ds[0]
			}
		}
	}
	if district == "" {
		district = fallback
	}
	if district == "" {
		return "", nil
	}
	if method != MethodWeb || !verified {
		key := district + "\x00" + method + "\x00" + de.Reason
		if verified {
			key += "\x00" + id.Issuer + "\x00" + id.Subject
		}
		if !r.first(key) {
			return district, nil
		}
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	var staff staffRef
	errors.As(err, &staff)
	a := observation.Audit(observation.Principal{UserID: string(staff)}, district, "identity.refused", "identity", clipID(id.Issuer), now().UTC())
	a.Details["reason"], a.Details["method"], a.Details["issuer"], a.Details["subject"] = de.Reason, method, id.Issuer, id.Subject
	a.Details["claims_verified"] = verified
	if id.Email != "" {
		a.Details["email"], a.Details["email_verified"] = id.Email, id.EmailVerified
	}
	return district, r.Store.AuditRefusal(ctx, a)
}

// staffRef is the cause of a refusal that concerns a known staff record (its id).
type staffRef string

func (s staffRef) Error() string { return "roster record " + string(s) }

// concerning notes on a refusal the district (and staff record) it concerns, for Record.
func concerning(e *observation.Error, district, staffID string) *observation.Error {
	e.District = district
	if staffID != "" {
		e.Err = staffRef(staffID)
	}
	return e
}

// first reports whether key was not recorded within RefusalRepeat, and notes it.
func (r *Refusals) first(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.seen == nil || len(r.seen) > 10_000 {
		r.seen = map[string]time.Time{}
	}
	if t, ok := r.seen[key]; ok && now.Sub(t) < RefusalRepeat {
		return false
	}
	r.seen[key] = now
	return true
}

func clipID(s string) string {
	if len(s) > maxSettingValueByte {
		return s[:maxSettingValueByte]
	}
	return s
}
