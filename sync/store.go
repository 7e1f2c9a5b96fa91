package sync

import (
	"context"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Store is what the sync protocol needs from storage.
type Store interface {
	// RegisterDevice stores d unless its id exists; it returns the stored device either way.
	RegisterDevice(ctx context.Context, d Device) (Device, error)
	// Device returns a registered device (KindNotFound when unknown).
	Device(ctx context.Context, deviceID string) (Device, error)
	// Push runs fn in one transaction holding the device's row lock, so pushes from one device
	// are applied one at a time, whichever connection or server process they arrive on.
	Push(ctx context.Context, deviceID string, fn func(PushTx) error) error
	// CurrentSnapshot returns the database's current snapshot (pg_current_snapshot) as text.
	CurrentSnapshot(ctx context.Context) (string, error)
	// Changes returns observation rows for a pull page (see ChangeQuery).
	Changes(ctx context.Context, q ChangeQuery) ([]ChangeRow, error)
	// RubricChanges returns rubric versions published or retired between the snapshots, for
	// the given owners.
	RubricChanges(ctx context.Context, owners []string, from, upto string) ([]RubricChange, error)
	// Hashes returns the content hash of each id that exists in scope.
	Hashes(ctx context.Context, scope Scope, ids []string) (map[string]string, error)
}

// PushTx is one push's transaction. Reads lock what they return; Commit writes everything.
type PushTx interface {
	Device() Device
	// StoredResults returns the results recorded for earlier deliveries of these seqs.
	StoredResults(ctx context.Context, seqs []int64) (map[int64]Result, error)
	// Observations returns the current rows of these ids in district, locked for update.
	Observations(ctx context.Context, district string, ids []string) (map[string]observation.StoredObservation, error)
	// Classrooms returns roster classrooms of district by id.
	Classrooms(ctx context.Context, district string, ids []string) (map[string]observation.Classroom, error)
	// RubricVersion returns a rubric version (KindNotFound when unknown).
	RubricVersion(ctx context.Context, rubricID string, version int) (observation.RubricVersion, error)
	// District returns a district with its settings.
	District(ctx context.Context, id string) (observation.District, error)
	// Commit writes the batch's effects and the device's next sequence number.
	Commit(ctx context.Context, w Writes) error
}

// Writes are the effects of one push, written together.
type Writes struct {
	Observations []observation.StoredObservation // the final state of every changed record
	New          map[string]bool                 // ids in Observations that did not exist before
	Revisions    []observation.StoredObservation // every revision created, in order
	Conflicts    []Conflict
	Results      []Result // results to keep for replay (every processed seq)
	NextSeq      int64
}

// Conflict is an amendment (or deletion) made on a stale base revision, kept for a person.
type Conflict struct {
	ID             string
	DistrictID     string
	ObservationID  string
	BaseRevision   int
	ServerRevision int
	Proposed       observation.Record
	ProposedHash   string
	ProposedDelete bool
	ProposedBy     string
	DeviceID       string
	CreatedAt      time.Time
}

// Scope is the set of records a principal may sync.
type Scope struct {
	All        bool     // admins: every district
	DistrictID string   // otherwise one district
	Sites      []string // coaches, principals: these sites; nil with AllSites
	AllSites   bool     // district admins: every site of the district
	UserID     string   // the caller's own records (drafts included) are always in scope
}

// ChangeQuery selects one page of a pull: rows in scope visible in Upto and not in From (every
// row when From is ""), plus rows of sites the scope gained (Added) and, as removals, rows of
// sites it lost (Removed); ordered by (txid, id) after (AfterTx, AfterID).
type ChangeQuery struct {
	Scope   Scope
	From    string // pg_snapshot text; "" for a first pull
	Upto    string
	Added   []string
	Removed []string
	AfterTx string // xid8 text; "0" to start
	AfterID string // uuid text
	Limit   int
}

// ChangeRow is one row of a pull page.
type ChangeRow struct {
	Observation observation.StoredObservation
	TxID        string
	Removed     bool // in a site the caller's scope lost
}
