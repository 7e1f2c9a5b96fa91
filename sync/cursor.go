package sync

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	gosync "sync"
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
	// Own lists the transactions (xid8) of the device's pushes since From: rows they wrote that
	// are still current are the device's own writes, already known to it, so pulls skip them.
	Own []string `json:"o,omitempty"`
}

const cursorVersion = 1

// maxOwn bounds the own-write transactions a cursor remembers; beyond it the oldest are
// forgotten, and their rows are merely pulled again.
const maxOwn = 64

// CursorKey is a server secret that signs pull cursors. Every server process on one database
// uses the same keys (the store keeps them); the newest signs, every key returned verifies.
type CursorKey struct {
	ID      string
	Secret  []byte
	Created time.Time
}

// CursorKeyStore gives the cursor keys in use, newest first, creating the first key on first
// use and a new one when the newest is older than rotate; keys older than rotate+keep are
// dropped.
type CursorKeyStore interface {
	CursorKeys(ctx context.Context, now time.Time, rotate, keep time.Duration) ([]CursorKey, error)
}

// cursorKeys caches the store's keys for a short while: a cursor signed by a key this process
// has not seen yet (another process rotated) makes it read them again.
type cursorKeys struct {
	mu      gosync.Mutex
	keys    []CursorKey
	fetched time.Time
}

const (
	cursorKeyRotation     = 30 * 24 * time.Hour
	cursorKeyCacheFor     = time.Minute
	cursorKeyRefetchAfter = 5 * time.Second
)

func (s *Service) keys(ctx context.Context, refresh bool) ([]CursorKey, error) {
	s.cursorKeys.mu.Lock()
	defer s.cursorKeys.mu.Unlock()
	now := s.now()
	fresh := now.Sub(s.cursorKeys.fetched) < cursorKeyCacheFor
	if refresh {
		// A cursor naming a key this process does not know: read again, but at most every few
		// seconds, so forged key ids cannot turn every request into a database read.
		fresh = now.Sub(s.cursorKeys.fetched) < cursorKeyRefetchAfter
	}
	if len(s.cursorKeys.keys) > 0 && fresh && now.Sub(s.cursorKeys.keys[0].Created) < cursorKeyRotation {
		return s.cursorKeys.keys, nil
	}
	// Keys stay accepted for the tombstone retention after they stop signing: a cursor older
	// than that is reset anyway.
	keys, err := s.Store.CursorKeys(ctx, now, cursorKeyRotation, s.retention())
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, observation.Unavailable(nil, "no cursor signing key")
	}
	s.cursorKeys.keys, s.cursorKeys.fetched = keys, now
	return keys, nil
}

func cursorMAC(key CursorKey, payload string) string {
	m := hmac.New(sha256.New, key.Secret)
	m.Write([]byte("lookfor.cursor.v1\x00" + key.ID + "\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// encode signs c with the newest key: base64url(JSON) "." key id "." base64url(HMAC-SHA256).
func (s *Service) encode(ctx context.Context, c cursor) (string, error) {
	keys, err := s.keys(ctx, false)
	if err != nil {
		return "", err
	}
	c.V = cursorVersion
	b, _ := json.Marshal(c)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + keys[0].ID + "." + cursorMAC(keys[0], payload), nil
}

func badCursor() error {
	return observation.Invalid("cursor", "BAD_CURSOR", "the cursor is not one this server issued (or it was changed); pull again from an empty cursor")
}

// decode checks the cursor's signature, then its form. A cursor this server did not sign, or
// one that was edited, is BAD_CURSOR.
func (s *Service) decode(ctx context.Context, str string) (cursor, error) {
	if str == "" {
		return cursor{}, nil
	}
	payload, rest, ok1 := strings.Cut(str, ".")
	keyID, mac, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || keyID == "" {
		return cursor{}, badCursor()
	}
	var key *CursorKey
	for refresh := range 2 {
		keys, err := s.keys(ctx, refresh == 1)
		if err != nil {
			return cursor{}, err
		}
		if i := slices.IndexFunc(keys, func(k CursorKey) bool { return k.ID == keyID }); i >= 0 {
			key = &keys[i]
			break
		}
	}
	if key == nil || !hmac.Equal([]byte(mac), []byte(cursorMAC(*key, payload))) {
		return cursor{}, badCursor()
	}
	return decodeCursor(payload)
}

// decodeCursor checks the form of a cursor's (already authenticated) payload.
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
		(c.AfterTx != "" && (!xidText.MatchString(c.AfterTx) || !observation.IsUUID(c.AfterID))) || len(c.Own) > maxOwn ||
		slices.ContainsFunc(c.Own, func(x string) bool { return !xidText.MatchString(x) }) {
		return cursor{}, badCursor()
	}
	return c, nil
}

// encodePayload is the unsigned form, for tests of decodeCursor.
func (c cursor) encodePayload() string {
	c.V = cursorVersion
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// withOwn adds a push's transaction to the cursor's own writes.
func (c cursor) withOwn(txid string) cursor {
	if txid == "" {
		return c
	}
	c.Own = append(slices.Clone(c.Own), txid)
	if len(c.Own) > maxOwn {
		c.Own = c.Own[len(c.Own)-maxOwn:]
	}
	return c
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
