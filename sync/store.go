package sync

import (
	"context"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Store is what the sync protocol needs from storage.
type Store interface {
	// RegisterDevice stores d unless its id exists, auditing a new registration in the same
	// transaction; it returns the stored device either way.
	RegisterDevice(ctx context.Context, d Device, audit observation.AuditEntry) (Device, error)
	// Device returns a registered device (KindNotFound when unknown).
	Device(ctx context.Context, deviceID string) (Device, error)
	// Push runs fn in one transaction holding the device's row lock, so pushes from one device
	// are applied one at a time, whichever connection or server process they arrive on.
	Push(ctx context.Context, deviceID string, fn func(PushTx) error) error
	// CurrentSnapshot returns the database's current snapshot (pg_current_snapshot) as text.
	CurrentSnapshot(ctx context.Context) (string, error)
	// Changes returns observation rows for a pull page (see ChangeQuery). more reports that
	// MaxBytes cut the page short while rows remained: the page ends at its last row.
	Changes(ctx context.Context, q ChangeQuery) (rows []ChangeRow, more bool, err error)
	// RubricChanges returns rubric versions published or retired between the snapshots, for
	// the given owners.
	RubricChanges(ctx context.Context, owners []string, from, upto string) ([]RubricChange, error)
	// Hashes returns the state of each id that exists in scope (deleted records included).
	Hashes(ctx context.Context, scope Scope, ids []string) (map[string]HashState, error)
	// CursorKeys gives the keys that sign pull cursors.
	CursorKeyStore
	// Audit records a read.
	Audit(ctx context.Context, e observation.AuditEntry) error
}

// PushTx is one push's transaction. Load reads (and locks) everything the batch's decisions
// need in one round trip; Commit writes everything in another.
type PushTx interface {
	Device() Device
	Load(ctx context.Context, q LoadQuery) (Loaded, error)
	// Commit writes the batch's effects and the device's next sequence number, and returns the
	// transaction's id (xid8 text), which stamps every row it writes.
	Commit(ctx context.Context, w Writes) (string, error)
}

// RubricRef names a rubric version.
type RubricRef struct {
	ID      string
	Version int
}

// LoadQuery says what a push must read.
type LoadQuery struct {
	District   string
	IDs        []string    // observations to read and lock
	Classrooms []string    // plus the classrooms of the observations read
	Rubrics    []RubricRef // plus the rubric versions of the observations read
	ReplaySeqs []int64     // stored results of earlier deliveries
}

// Loaded is what a push read.
type Loaded struct {
	District     *observation.District // nil when the district does not exist
	Observations map[string]observation.StoredObservation
	Classrooms   map[string]observation.Classroom
	Rubrics      map[RubricRef]observation.RubricVersion
	Results      map[int64]Result
	// Elsewhere holds the ids (of IDs) that exist in another district: never read, never
	// revealed, they cannot be used.
	Elsewhere map[string]bool
}

// HashState is what reconcile learns of one record.
type HashState struct {
	ContentHash string
	Deleted     bool
}

// Writes are the effects of one push, written together.
type Writes struct {
	Observations []observation.StoredObservation // the final state of every changed record
	created      map[string]bool                 // ids in Observations that did not exist before (no Store reads it)
	// History holds the versions this push superseded, in order: the stored state of each
	// changed record and any revision this batch created and then changed again. The current
	// version of every record lives in Observations; together they keep every revision.
	History   []observation.StoredObservation
	Conflicts []Conflict
	Results   []Result // results to keep for replay (every processed seq)
	NextSeq   int64
	Audit     observation.AuditEntry // the push, written in the same transaction
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
	// MaxBytes bounds the page by the stored size of its records' content: reading stops after
	// the row that brings the total to MaxBytes or more (so a page has at least one row, however
	// large). 0: no bound but Limit.
	MaxBytes int
	Own      []string // xid8 texts of the device's own pushes: their still-current rows are skipped
}

// ChangeRow is one row of a pull page.
type ChangeRow struct {
	Observation observation.StoredObservation
	TxID        string
	Removed     bool // in a site the caller's scope lost
}
