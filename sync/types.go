package sync

import (
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Op is what a change does.
type Op string

const (
	OpUpsert Op = "upsert" // create a record, edit a draft, submit it, or amend a submitted one
	OpDelete Op = "delete" // remove a record (leaves a tombstone)
)

// Change is one mutation a tablet sends. Seq is the device's mutation sequence number: 1, 2, 3…
// with no gaps, assigned when the change is recorded, never reused.
type Change struct {
	Seq           int64
	Op            Op
	Record        observation.Record // the whole record as the tablet has it (upsert)
	ObservationID string             // the record's id (always set; equals Record.ID on upsert)
	// BaseRevision is the server revision this change was made on: 0 for a record the server has
	// never acknowledged. Amending (or deleting) a submitted record must name the revision it
	// replaces; if the server has moved on, the change is a conflict.
	BaseRevision int
	// Fields lists the record fields this change edits, as JSON names ("scores", "next_steps"…),
	// for draft merges: only these are taken from Record. Empty means every field.
	Fields []string
}

// Status is the outcome of one change.
type Status string

const (
	StatusApplied   Status = "applied"   // stored; Revision is the new server revision
	StatusDuplicate Status = "duplicate" // the server already had exactly this content
	StatusConflict  Status = "conflict"  // made on a stale base; kept as a conflict with Server's copy
	StatusRejected  Status = "rejected"  // not stored: Reason, Field, Message say why
)

// Stable reason codes of rejected changes.
const (
	ReasonSequenceGap     = "SEQUENCE_GAP"     // held back: the server expects ExpectedSeq first
	ReasonInvalid         = "INVALID"          // generic validation failure (Field says where)
	ReasonOutOfScope      = "OUT_OF_SCOPE"     // classroom/site not in the caller's scope
	ReasonUnknownRubric   = "UNKNOWN_RUBRIC"   // no such rubric version
	ReasonRetiredRubric   = "RETIRED_RUBRIC"   // the rubric version no longer accepts records
	ReasonImmutable       = "IMMUTABLE"        // a submitted record edited without a base revision
	ReasonNotFound        = "NOT_FOUND"        // amending or deleting a record the server lacks
	ReasonFutureTimestamp = "FUTURE_TIMESTAMP" // device clock far in the future
	ReasonDeleted         = "DELETED"          // the record was deleted
	ReasonSeqReused       = "SEQ_REUSED"       // an applied seq sent again with different content
	ReasonBadID           = "BAD_ID"           // the id cannot be used (malformed, not a UUIDv7 for a new record, or taken)

	// Conflict reasons (Status conflict).
	ConflictStaleBase        = "STALE_BASE"        // an amendment or deletion made on an older revision
	ConflictConcurrentCreate = "CONCURRENT_CREATE" // a new record whose id the server already holds with other content

	// Codes no other package names (clients see them only as strings).
	reasonDraftRubric = "DRAFT_RUBRIC" // the rubric version is not published (sent as observation.RecordReasonDraftRubric)
	reasonNotOwner    = "NOT_OWNER"    // editing someone else's draft
	reasonInternal    = "INTERNAL"     // the server could not store this one change
)

// Result is the server's answer for one change. A replayed change gets its original result
// again, with Replayed set.
//
// Pushes store their results for replay as JSON (push_replies), the fields a result does not
// use left out (an applied result's text is about 260 bytes instead of 360). A field left out
// reads back as its zero value, which is what it held.
type Result struct {
	Seq           int64
	ObservationID string
	Status        Status
	Revision      int                            `json:",omitempty"` // the record's server revision after the change (applied, duplicate)
	ContentHash   string                         `json:",omitempty"` // the stored content hash (applied, duplicate)
	Reason        string                         `json:",omitempty"` // rejected (and conflict: "STALE_BASE")
	Field         string                         `json:",omitempty"` // rejected: the offending field, when there is one
	Message       string                         `json:",omitempty"` // rejected: a readable explanation
	ExpectedSeq   int64                          `json:",omitempty"` // SEQUENCE_GAP: the sequence number the server expects next
	ConflictID    string                         `json:",omitempty"` // conflict: the id to resolve it by
	Server        *observation.StoredObservation `json:",omitempty"`
	Replayed      bool                           `json:",omitempty"`
	// Fingerprint identifies the change this result answers (kept with the stored result, never
	// sent): a later delivery of the same seq with another fingerprint is SEQ_REUSED.
	Fingerprint string `json:",omitempty"`
}

// Device is a tablet registered to one user.
type Device struct {
	ID            string
	UserID        string
	DistrictID    string
	NextSeq       int64 // the next sequence number the server will apply
	ClientVersion string
	SchemaVersion int
	RegisteredAt  time.Time
}

// RubricChange is a rubric version whose status changed (published or retired), delivered by
// pull before any observation so the tablet can validate against it.
type RubricChange struct {
	RubricID    string
	Version     int
	Status      observation.VersionStatus
	ContentHash string
}

// TombstoneReason says why a record disappears from the tablet.
type TombstoneReason string

const (
	TombstoneDeleted    TombstoneReason = "deleted"      // the record was deleted
	TombstoneOutOfScope TombstoneReason = "out_of_scope" // the caller's scope no longer covers it
)

// Tombstone is a removal the tablet must apply.
type Tombstone struct {
	ObservationID string
	Reason        TombstoneReason
}

// PushRequest is one batch from a device.
type PushRequest struct {
	DeviceID      string
	Changes       []Change
	Cursor        string // the device's current pull cursor, so the answer can extend it
	ClientVersion string
	SchemaVersion int
}

// PushResponse has one result per change, in order, and a cursor that includes the device's own
// writes. Reset says the request's cursor was refused (BAD_CURSOR): the changes were still
// decided, Cursor is empty, and the tablet must drop its copy and pull again from "".
type PushResponse struct {
	Results []Result
	Cursor  string
	Reset   bool
}

// PullRequest asks for what changed since Cursor ("" for everything in scope).
type PullRequest struct {
	DeviceID      string
	Cursor        string
	Limit         int
	SchemaVersion int
}

// PullPage is one page of changes. When Reset is set the tablet must drop its copy and pull
// again from an empty cursor: its cursor is older than tombstone retention.
type PullPage struct {
	Rubrics    []RubricChange
	Upserts    []observation.StoredObservation
	Tombstones []Tombstone
	Cursor     string
	HasMore    bool
	Reset      bool
}

// HashPair is one record the tablet holds and its content hash.
type HashPair struct {
	ObservationID string
	ContentHash   string
}

// ItemError is one reconcile item the server could not consider.
type ItemError struct {
	Index         int // position in the request
	ObservationID string
	Reason        string
	Message       string
}

// ReconcileResult says what the server lacks (ids it has no record of in the caller's scope),
// what differs (the server's revision has another hash), what was deleted, and which items were
// malformed; the tablet re-sends, pulls or drops accordingly.
type ReconcileResult struct {
	Missing []string
	Differ  []HashPair // the server's hash for each differing id
	Deleted []string
	Invalid []ItemError
}

// Limits are the push limits the server enforces and the client respects.
type Limits struct {
	MaxChanges int // changes per push; default 500
	MaxBytes   int // encoded bytes per push; default 4 MiB
}

// DefaultLimits are the push limits of docs/sync-protocol.md.
var DefaultLimits = Limits{MaxChanges: 500, MaxBytes: 4 << 20}
