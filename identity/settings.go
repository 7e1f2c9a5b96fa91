package identity

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Limits of a district's identity settings.
const (
	MaxIssuers          = 10
	MaxAudiences        = 10
	MaxEmailDomains     = 50
	maxSettingValueByte = 255
)

// Reason codes of identity settings.
const (
	ReasonBadIssuer   = "BAD_ISSUER"
	ReasonBadAudience = "BAD_AUDIENCE"
	ReasonBadDomain   = "BAD_EMAIL_DOMAIN"
	ReasonBadLink     = "BAD_LINK_CLAIM"
	ReasonBadWeb      = "BAD_WEB_CLIENT"
)

// SettingsStore stores districts' identity settings (implemented by store.Store).
type SettingsStore interface {
	// IdentityDistrictIssuers lists the issuers a district trusts, by issuer.
	IdentityDistrictIssuers(ctx context.Context, district string) ([]Trust, error)
	// IdentitySettingsReplace replaces a district's trusted issuers with ts and writes the audit
	// entry, in one transaction; NOT_FOUND when the district does not exist.
	IdentitySettingsReplace(ctx context.Context, district string, ts []Trust, audit observation.AuditEntry) error
}

// Settings lets district admins (of their district) and admins read and change which identity
// providers a district trusts.
type Settings struct {
	Store SettingsStore
	// Changed is called after a change is stored (the server rereads its issuer list).
	Changed func(ctx context.Context)
	Now     func() time.Time
}

func canManage(p observation.Principal, district string) error {
	switch {
	case p.Role == observation.RoleAdmin, p.Role == observation.RoleDistrictAdmin && p.DistrictID == district:
		return nil
	case p.InDistrict(district):
		return observation.Denied("only the district's administrators manage its identity settings")
	}
	return observation.NotFound("district", district)
}

// Get returns the issuers district trusts.
func (s *Settings) Get(ctx context.Context, p observation.Principal, district string) ([]Trust, error) {
	if err := observation.ValidateID("district_id", district); err != nil {
		return nil, err
	}
	if err := canManage(p, district); err != nil {
		return nil, err
	}
	return s.Store.IdentityDistrictIssuers(ctx, district)
}

// Replace makes ts the issuers district trusts, audited with the settings before and after.
func (s *Settings) Replace(ctx context.Context, p observation.Principal, district string, ts []Trust) ([]Trust, error) {
	if err := observation.ValidateID("district_id", district); err != nil {
		return nil, err
	}
	if err := canManage(p, district); err != nil {
		return nil, err
	}
	clean, err := ValidateTrusts(district, ts)
	if err != nil {
		return nil, err
	}
	before, err := s.Store.IdentityDistrictIssuers(ctx, district)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	a := observation.Audit(p, district, "identity.settings.update", "district", district, now().UTC())
	a.Details["before"], a.Details["after"] = trustsForAudit(before), trustsForAudit(clean)
	if err := s.Store.IdentitySettingsReplace(ctx, district, clean, a); err != nil {
		return nil, err
	}
	if s.Changed != nil {
		s.Changed(ctx)
	}
	return clean, nil
}

func trustsForAudit(ts []Trust) []map[string]any {
	out := make([]map[string]any, len(ts))
	for i, t := range ts {
		out[i] = map[string]any{"issuer": t.Issuer, "audiences": t.Audiences, "email_domains": t.EmailDomains, "link_claim": string(t.LinkClaim),
			"web_client_id": t.WebClientID, "web_client_secret_ref": t.WebClientSecretRef}
	}
	return out
}

// secretRefPattern is a file name in the district's directory of the secrets directory: no
// path separators, no leading dot, so a reference cannot leave that directory.
var secretRefPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

var domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// ValidateTrusts checks a district's issuers and returns them normalized (domains lower-case,
// sorted, link claim defaulted to email). Errors name the field, e.g. issuers[1].audiences.
func ValidateTrusts(district string, ts []Trust) ([]Trust, error) {
	if len(ts) > MaxIssuers {
		return nil, observation.Invalid("issuers", ReasonBadIssuer, "at most %d identity providers per district, got %d", MaxIssuers, len(ts))
	}
	out := make([]Trust, 0, len(ts))
	seen := map[string]bool{}
	for i, t := range ts {
		field := func(f string) string { return "issuers[" + itoa(i) + "]." + f }
		u, err := url.Parse(t.Issuer)
		switch {
		case t.Issuer == "" || len(t.Issuer) > maxSettingValueByte || err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
			return nil, observation.Invalid(field("issuer"), ReasonBadIssuer, "the issuer must be an https URL without query or fragment (as in the provider's discovery document)")
		case u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())):
			return nil, observation.Invalid(field("issuer"), ReasonBadIssuer, "the issuer must use https (http only on loopback, for development)")
		case seen[t.Issuer]:
			return nil, observation.Invalid(field("issuer"), ReasonBadIssuer, "issuer %s is listed twice", t.Issuer)
		}
		seen[t.Issuer] = true
		if len(t.Audiences) == 0 || len(t.Audiences) > MaxAudiences {
			return nil, observation.Invalid(field("audiences"), ReasonBadAudience, "give 1 to %d audiences (the client ids lookfor's apps have at this provider)", MaxAudiences)
		}
		for j, a := range t.Audiences {
			if a == "" || len(a) > maxSettingValueByte || strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
				return nil, observation.Invalid(field("audiences["+itoa(j)+"]"), ReasonBadAudience, "an audience is 1-%d printable characters without spaces", maxSettingValueByte)
			}
		}
		claim := t.LinkClaim
		if claim == "" {
			claim = LinkEmail
		}
		if !claim.Valid() {
			return nil, observation.Invalid(field("link_claim"), ReasonBadLink, "link claim %q is not email or sub", t.LinkClaim)
		}
		if len(t.EmailDomains) > MaxEmailDomains {
			return nil, observation.Invalid(field("email_domains"), ReasonBadDomain, "at most %d email domains", MaxEmailDomains)
		}
		var domains []string
		for j, d := range t.EmailDomains {
			d = strings.ToLower(strings.TrimSpace(d))
			if !domainPattern.MatchString(d) {
				return nil, observation.Invalid(field("email_domains["+itoa(j)+"]"), ReasonBadDomain, "%q is not an email domain such as district.example.org", clip(d))
			}
			if !slices.Contains(domains, d) {
				domains = append(domains, d)
			}
		}
		slices.Sort(domains)
		if domains == nil {
			domains = []string{}
		}
		switch {
		case t.WebClientID != "" && !slices.Contains(t.Audiences, t.WebClientID):
			return nil, observation.Invalid(field("web_client_id"), ReasonBadWeb, "the web client id must be one of the audiences (its ID tokens name it)")
		case t.WebClientID != "" && !secretRefPattern.MatchString(t.WebClientSecretRef):
			return nil, observation.Invalid(field("web_client_secret_ref"), ReasonBadWeb,
				"give the name of the file holding the web client's secret in the server's secrets directory (letters, digits, '.', '_', '-'; not the secret itself)")
		case t.WebClientID == "" && t.WebClientSecretRef != "":
			return nil, observation.Invalid(field("web_client_id"), ReasonBadWeb, "a web client secret reference needs the web client id")
		}
		out = append(out, Trust{DistrictID: district, Issuer: t.Issuer, Audiences: slices.Clone(t.Audiences), EmailDomains: domains, LinkClaim: claim,
			WebClientID: t.WebClientID, WebClientSecretRef: t.WebClientSecretRef})
	}
	return out, nil
}

func isLoopback(host string) bool { return host == "localhost" || host == "127.0.0.1" || host == "::1" }

func itoa(i int) string { return strconv.Itoa(i) }

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
