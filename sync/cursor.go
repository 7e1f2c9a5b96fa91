package sync

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// cursor is what an opaque pull cursor encodes. From is a PostgreSQL snapshot: a row is new to
// the tablet when its writing transaction is not visible in From. Unlike a timestamp or a
// sequence, this never skips a transaction that committed after a later one.
type cursor struct {
	V       int      `json:"v"`
	From    string   `json:"f,omitempty"`  // snapshot of the last complete pull; "" = nothing yet
	Issued  int64    `json:"i,omitempty"`  // unix seconds when From was taken (server clock)
	Sites   []string `json:"s,omitempty"`  // the scope's sites when From was taken
	Scope   string   `json:"sc,omitempty"` // role and district the cursor was issued for
	Upto    string   `json:"u,omitempty"`  // target snapshot of a paging sequence in progress
	UptoAt  int64    `json:"ua,omitempty"` // unix seconds when Upto was taken: the next Issued
	AfterTx string   `json:"at,omitempty"` // position within that sequence
	AfterID string   `json:"ai,omitempty"`
}

const cursorVersion = 1

func (c cursor) encode() string {
	c.V = cursorVersion
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	if s == "" {
		return cursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.V != cursorVersion || (c.Upto == "") != (c.AfterTx == "") || !snapshotText(c.From) || !snapshotText(c.Upto) ||
		(c.AfterTx != "" && (!xidText.MatchString(c.AfterTx) || !observation.IsUUID(c.AfterID))) {
		return cursor{}, observation.Invalid("cursor", "BAD_CURSOR", "the cursor is not one this server issued; pull again from an empty cursor")
	}
	return c, nil
}

var (
	xidText      = regexp.MustCompile(`^[0-9]{1,20}$`)
	snapshotForm = regexp.MustCompile(`^[0-9]{1,20}:[0-9]{1,20}:([0-9]{1,20}(,[0-9]{1,20})*)?$`)
)

// snapshotText accepts "" or the text form of a pg_snapshot, "xmin:xmax:xip,…".
func snapshotText(s string) bool { return s == "" || (len(s) < 8192 && snapshotForm.MatchString(s)) }

func scopeKey(p observation.Principal) string { return string(p.Role) + "@" + p.DistrictID }

func (c cursor) issuedAt() time.Time { return time.Unix(c.Issued, 0) }

// siteDiff returns the sites in now but not before, and in before but not now.
func siteDiff(before, now []string) (added, removed []string) {
	for _, s := range now {
		if !slices.Contains(before, s) {
			added = append(added, s)
		}
	}
	for _, s := range before {
		if !slices.Contains(now, s) {
			removed = append(removed, s)
		}
	}
	return added, removed
}
