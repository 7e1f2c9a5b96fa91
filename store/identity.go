package store

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/observation"
)

// The storage behind identity.Resolver: links from token identities to staff records, the
// issuers each district trusts, and the network-level people.

var (
	_ identity.Store         = (*Store)(nil)
	_ identity.SettingsStore = (*Store)(nil)
	_ identity.NetworkStore  = (*Store)(nil)
)

// identityStaffSQL selects identity.Staff columns for district staff (alias s) and network staff
// (alias n); each is scanned by scanIdentityStaff.
const (
	identityDistrictStaffSQL = `SELECT s.district_id, s.staff_id, s.role, s.status,
		coalesce((SELECT array_agg(ss.site_id ORDER BY ss.site_id) FROM staff_sites ss
			WHERE ss.district_id = s.district_id AND ss.staff_id = s.staff_id), '{}')
		FROM staff s`
	identityNetworkStaffSQL = `SELECT 'network', n.staff_id, n.role, n.status, '{}'::text[] FROM network_staff n`

	identityLinkedSQL = identityDistrictStaffSQL + `
		JOIN identity_links l ON l.district_id = s.district_id AND l.staff_id = s.staff_id
		WHERE l.issuer = $1 AND l.subject = $2
		  AND ($3::text[] IS NULL OR EXISTS (SELECT 1 FROM identity_issuers i
			WHERE i.district_id = l.district_id AND i.issuer = l.issuer AND i.audiences && $3::text[]))
		UNION ALL ` + identityNetworkStaffSQL + `
		JOIN identity_links l ON l.district_id = 'network' AND l.staff_id = n.staff_id
		WHERE l.issuer = $1 AND l.subject = $2`

	// $1 district ('' = any, and the network), $2 staff id or '' , $3 lower-case email or ''.
	identityCandidatesSQL = identityDistrictStaffSQL + `
		WHERE ($1 = '' OR s.district_id = $1)
		  AND (($2 <> '' AND s.staff_id = $2) OR ($3 <> '' AND s.email <> '' AND lower(s.email) = $3))
		UNION ALL ` + identityNetworkStaffSQL + `
		WHERE $1 = ''
		  AND (($2 <> '' AND n.staff_id = $2) OR ($3 <> '' AND n.email <> '' AND lower(n.email) = $3))`
)

func scanIdentityStaff(row pgx.Row) (identity.Staff, error) {
	var s identity.Staff
	var status string
	err := row.Scan(&s.DistrictID, &s.StaffID, &s.Role, &status, &s.SiteIDs)
	s.Status = identity.Status(status)
	return s, err
}

// IdentityLinked returns the staff record (issuer, subject) is linked to. With audiences (not
// nil), a district record counts only while its district still trusts issuer for one of them
// (read now, so a district that stops trusting a provider, or one of its client ids, ends those
// sign-ins at the next call on every process).
func (s *Store) IdentityLinked(ctx context.Context, issuer, subject string, audiences []string) (identity.Staff, bool, error) {
	st, err := scanIdentityStaff(s.pool.QueryRow(ctx, identityLinkedSQL, issuer, subject, audiences))
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.Staff{}, false, nil
	}
	if err != nil {
		return identity.Staff{}, false, classify(err)
	}
	return st, true, nil
}

const trustColumns = `district_id, issuer, audiences, email_domains, link_claim, web_client_id, web_client_secret_ref`

func scanTrust(r pgx.CollectableRow) (identity.Trust, error) {
	var t identity.Trust
	var claim string
	err := r.Scan(&t.DistrictID, &t.Issuer, &t.Audiences, &t.EmailDomains, &claim, &t.WebClientID, &t.WebClientSecretRef)
	t.LinkClaim = identity.LinkClaim(claim)
	return t, err
}

// IdentityTrusts lists the districts that trust issuer.
func (s *Store) IdentityTrusts(ctx context.Context, issuer string) ([]identity.Trust, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+trustColumns+` FROM identity_issuers WHERE issuer = $1 ORDER BY district_id`, issuer)
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, scanTrust)
	return out, classify(err)
}

// IdentityIssuers lists every issuer any district trusts (district_id = ” lists all), by
// district and issuer.
func (s *Store) IdentityIssuers(ctx context.Context) ([]identity.Trust, error) {
	return s.IdentityDistrictIssuers(ctx, "")
}

// IdentityDistrictIssuers lists the issuers district trusts (” : every district's).
func (s *Store) IdentityDistrictIssuers(ctx context.Context, district string) ([]identity.Trust, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+trustColumns+` FROM identity_issuers WHERE $1 = '' OR district_id = $1
		ORDER BY district_id, issuer`, district)
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, scanTrust)
	return out, classify(err)
}

// IdentityWebTrustsByDomain lists the trusts with a web client whose email domains include
// domain (lower-case), in any district.
func (s *Store) IdentityWebTrustsByDomain(ctx context.Context, domain string) ([]identity.Trust, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+trustColumns+` FROM identity_issuers WHERE web_client_id <> '' AND $1 = ANY(email_domains)
		ORDER BY district_id, issuer`, domain)
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, scanTrust)
	return out, classify(err)
}

// IdentityDistrictsByDomain lists the districts that name domain (lower-case) among the email
// domains of any issuer they trust.
func (s *Store) IdentityDistrictsByDomain(ctx context.Context, domain string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT district_id FROM identity_issuers WHERE $1 = ANY(email_domains) ORDER BY district_id`, domain)
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, classify(err)
}

// IdentityCandidates returns the distinct staff records matching any of qs.
func (s *Store) IdentityCandidates(ctx context.Context, qs []identity.Candidates) ([]identity.Staff, error) {
	b := &pgx.Batch{}
	for _, q := range qs {
		var id, email string
		if q.By == identity.LinkSubject {
			id = q.Value
		} else {
			email = strings.ToLower(q.Value)
		}
		b.Queue(identityCandidatesSQL, q.DistrictID, id, email)
	}
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	seen := map[[2]string]bool{}
	var out []identity.Staff
	for range qs {
		rows, err := res.Query()
		if err != nil {
			return nil, classify(err)
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (identity.Staff, error) { return scanIdentityStaff(r) })
		if err != nil {
			return nil, classify(err)
		}
		for _, st := range got {
			if k := [2]string{st.DistrictID, st.StaffID}; !seen[k] {
				seen[k] = true
				out = append(out, st)
			}
		}
	}
	return out, classify(res.Close())
}

// IdentityLink links id to st (replacing a link whose record is gone) and writes the audit entry.
// Concurrent first calls of one identity (a tablet's parallel requests) link once and audit once:
// DO NOTHING without a conflict target takes both unique indexes (the primary key and
// (issuer, subject)) as arbiters, so a racing insert of the same link waits and does nothing.
func (s *Store) IdentityLink(ctx context.Context, id identity.Identity, st identity.Staff, audit observation.AuditEntry) error {
	return s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO identity_links (district_id, issuer, subject, staff_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, st.DistrictID, id.Issuer, id.Subject, st.StaffID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			// Linked already: to st by a concurrent call (which audits it), or to a record that is
			// gone, which this link replaces.
			if tag, err = tx.Exec(ctx, `UPDATE identity_links SET district_id = $1, staff_id = $4, linked_at = now()
				WHERE issuer = $2 AND subject = $3 AND (district_id, staff_id) IS DISTINCT FROM ($1, $4)`,
				st.DistrictID, id.Issuer, id.Subject, st.StaffID); err != nil || tag.RowsAffected() == 0 {
				return err
			}
		}
		return insertAudit(ctx, tx, audit)
	})
}

// UpsertNetworkStaff writes network-level people.
func (s *Store) UpsertNetworkStaff(ctx context.Context, people ...identity.NetworkStaff) error {
	return s.ReadWriteTx(ctx, func(tx pgx.Tx) error { return upsertNetworkStaff(ctx, tx, people) })
}

func upsertNetworkStaff(ctx context.Context, tx pgx.Tx, people []identity.NetworkStaff) error {
	if len(people) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, p := range people {
		status := p.Status
		if status == "" {
			status = identity.StatusActive
		}
		b.Queue(`INSERT INTO network_staff (staff_id, given_name, family_name, email, role, status) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (district_id, staff_id) DO UPDATE SET given_name = excluded.given_name, family_name = excluded.family_name,
					email = excluded.email, role = excluded.role, status = excluded.status, updated_at = now()
				WHERE (network_staff.given_name, network_staff.family_name, network_staff.email, network_staff.role, network_staff.status)
					IS DISTINCT FROM (excluded.given_name, excluded.family_name, excluded.email, excluded.role, excluded.status)`,
			p.StaffID, p.GivenName, p.FamilyName, p.Email, string(p.Role), string(status))
	}
	return tx.SendBatch(ctx, b).Close()
}

// SetStaffStatus sets the status of a district staff record.
func (s *Store) SetStaffStatus(ctx context.Context, districtID, staffID string, status identity.Status) error {
	tag, err := s.pool.Exec(ctx, `UPDATE staff SET status = $3, updated_at = now() WHERE district_id = $1 AND staff_id = $2`,
		districtID, staffID, string(status))
	if err != nil {
		return classify(err)
	}
	if tag.RowsAffected() == 0 {
		return observation.NotFound("staff", staffID)
	}
	return nil
}

// TrustIssuer makes district trust an issuer (replacing its earlier settings for that issuer).
func (s *Store) TrustIssuer(ctx context.Context, t identity.Trust) error {
	claim := t.LinkClaim
	if claim == "" {
		claim = identity.LinkEmail
	}
	domains := t.EmailDomains
	if domains == nil {
		domains = []string{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO identity_issuers (district_id, issuer, audiences, email_domains, link_claim,
			web_client_id, web_client_secret_ref)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (district_id, issuer) DO UPDATE SET audiences = excluded.audiences, email_domains = excluded.email_domains,
			link_claim = excluded.link_claim, web_client_id = excluded.web_client_id,
			web_client_secret_ref = excluded.web_client_secret_ref, updated_at = now()`,
		t.DistrictID, t.Issuer, t.Audiences, domains, string(claim), t.WebClientID, t.WebClientSecretRef)
	return classify(err)
}

// EnsureStaff makes the roster hold st: a district staff record with st's role and exactly st's
// sites (names, email and status of an existing record are kept; a new one is active), or a
// network-level person when st.DistrictID is observation.NetworkOwner. Development tools and
// tests use it to put the people they mint tokens for on the roster.
func (s *Store) EnsureStaff(ctx context.Context, st identity.Staff) error {
	if st.DistrictID == observation.NetworkOwner {
		_, err := s.pool.Exec(ctx, `INSERT INTO network_staff (staff_id, role) VALUES ($1, $2)
			ON CONFLICT (district_id, staff_id) DO UPDATE SET role = excluded.role, updated_at = now() WHERE network_staff.role <> excluded.role`,
			st.StaffID, st.Role)
		return classify(err)
	}
	sites := st.SiteIDs
	if sites == nil {
		sites = []string{}
	}
	return s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO staff (district_id, staff_id, role) VALUES ($1, $2, $3)
			ON CONFLICT (district_id, staff_id) DO UPDATE SET role = excluded.role, updated_at = now() WHERE staff.role <> excluded.role`,
			st.DistrictID, st.StaffID, st.Role)
		b.Queue(`DELETE FROM staff_sites WHERE district_id = $1 AND staff_id = $2 AND NOT site_id = ANY($3)`, st.DistrictID, st.StaffID, sites)
		b.Queue(`INSERT INTO staff_sites (district_id, staff_id, site_id) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING`,
			st.DistrictID, st.StaffID, sites)
		return tx.SendBatch(ctx, b).Close()
	})
}

// IdentitySettingsReplace replaces the issuers district trusts and writes the audit entry, in one
// transaction (the district row is locked, so concurrent replacements apply one after the other).
func (s *Store) IdentitySettingsReplace(ctx context.Context, district string, ts []identity.Trust, audit observation.AuditEntry) error {
	return s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		if _, err := readDistrict(ctx, tx, district, "FOR NO KEY UPDATE"); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM identity_issuers WHERE district_id = $1`, district)
		for _, t := range ts {
			b.Queue(`INSERT INTO identity_issuers (district_id, issuer, audiences, email_domains, link_claim, web_client_id,
				web_client_secret_ref) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				district, t.Issuer, t.Audiences, t.EmailDomains, string(t.LinkClaim), t.WebClientID, t.WebClientSecretRef)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return insertAudit(ctx, tx, audit)
	})
}

// ListNetworkStaff returns the network-level people by staff id.
func (s *Store) ListNetworkStaff(ctx context.Context) ([]identity.NetworkStaff, error) {
	rows, err := s.pool.Query(ctx, `SELECT staff_id, given_name, family_name, email, role, status FROM network_staff ORDER BY staff_id`)
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (identity.NetworkStaff, error) {
		var n identity.NetworkStaff
		var role, status string
		err := r.Scan(&n.StaffID, &n.GivenName, &n.FamilyName, &n.Email, &role, &status)
		n.Role, n.Status = observation.Role(role), identity.Status(status)
		return n, err
	})
	return out, classify(err)
}

// NetworkStaffUpsert writes one network-level person and the audit entry in one transaction.
func (s *Store) NetworkStaffUpsert(ctx context.Context, n identity.NetworkStaff, audit observation.AuditEntry) (identity.NetworkStaff, error) {
	var out identity.NetworkStaff
	err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		var role, status string
		err := tx.QueryRow(ctx, `INSERT INTO network_staff (staff_id, given_name, family_name, email, role, status)
			VALUES ($1, $2, $3, $4, $5, coalesce(nullif($6, ''), 'active'))
			ON CONFLICT (district_id, staff_id) DO UPDATE SET given_name = excluded.given_name, family_name = excluded.family_name,
				email = excluded.email, role = excluded.role, status = coalesce(nullif($6, ''), network_staff.status), updated_at = now()
			RETURNING staff_id, given_name, family_name, email, role, status`,
			n.StaffID, n.GivenName, n.FamilyName, n.Email, string(n.Role), string(n.Status)).
			Scan(&out.StaffID, &out.GivenName, &out.FamilyName, &out.Email, &role, &status)
		if err != nil {
			return err
		}
		out.Role, out.Status = observation.Role(role), identity.Status(status)
		return insertAudit(ctx, tx, audit)
	})
	return out, classify(err)
}
