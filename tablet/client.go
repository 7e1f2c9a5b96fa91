package tablet

import (
	"context"
	"fmt"
	gosync "sync"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/lookfor-edu/lookfor/sync"
)

// Options configure a Client. Zero values take the defaults.
type Options struct {
	ClientVersion string
	SchemaVersion int
	Limits        sync.Limits   // zero fields take sync.DefaultLimits
	MaxAttempts   int           // attempts per call on KindUnavailable (default 8)
	BaseBackoff   time.Duration // default 200ms
	MaxBackoff    time.Duration // default 30s
	// CallTimeout bounds one transport call; a call that runs out of it is retried like
	// KindUnavailable. Default 2 minutes; negative disables it.
	CallTimeout time.Duration

	// Only this package's tests set these.
	deviceID     string // used on first Open only (a UUIDv7 is generated when empty); persisted
	pullPageSize int    // default 500
	// sleep waits between attempts; default a real sleep that honours ctx.
	sleep func(ctx context.Context, d time.Duration) error
	// now is the clock for local bookkeeping (last sync, when a conflict was seen); default
	// time.Now.
	now func() time.Time
}

func (o *Options) defaults() {
	if o.Limits.MaxChanges <= 0 {
		o.Limits.MaxChanges = sync.DefaultLimits.MaxChanges
	}
	if o.Limits.MaxBytes <= 0 {
		o.Limits.MaxBytes = sync.DefaultLimits.MaxBytes
	}
	if o.pullPageSize <= 0 {
		o.pullPageSize = 500
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxBackoff < o.BaseBackoff {
		o.MaxBackoff = o.BaseBackoff
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 2 * time.Minute
	}
	if o.sleep == nil {
		o.sleep = sleepCtx
	}
	if o.now == nil {
		o.now = time.Now
	}
}

// Client is the tablet side of sync: a durable outbox of local changes in a bbolt file, pushed in
// batches with per-device sequence numbers, and a pull loop that keeps local records current.
// Save, deleteRecord and the readers may be called from any goroutine at any time; Sync, push
// and pull are serialised.
type Client struct {
	db       *bolt.DB
	t        Transport
	opts     Options
	deviceID string
	netMu    gosync.Mutex // one network operation at a time
}

// Report counts what one Sync (or push, or pull) did.
type Report struct {
	Pushed     int // changes the server answered for good (removed from the outbox)
	Applied    int
	Duplicates int
	Conflicts  int
	Rejected   int // by the server, or locally as TOO_LARGE
	Pulled     int // upserts received from the server
	Removed    int // local records removed by tombstones or a reset
	Batches    int // push batches answered
	Retries    int // transport calls retried after KindUnavailable or a call timeout
}

func (r *Report) add(o Report) {
	r.Pushed += o.Pushed
	r.Applied += o.Applied
	r.Duplicates += o.Duplicates
	r.Conflicts += o.Conflicts
	r.Rejected += o.Rejected
	r.Pulled += o.Pulled
	r.Removed += o.Removed
	r.Batches += o.Batches
	r.Retries += o.Retries
}

// NewID returns a new record id (UUIDv7), as every record id is generated on the tablet.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// Open opens (or creates) the client's bbolt file at path. t may be nil for offline use; network
// operations then fail.
func Open(path string, t Transport, opts Options) (*Client, error) {
	opts.defaults()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("sync: open outbox %s: %w", path, err)
	}
	c := &Client{db: db, t: t, opts: opts}
	err = db.Update(func(tx *bolt.Tx) error {
		id, err := initBuckets(tx, func() (string, error) {
			if opts.deviceID != "" {
				return opts.deviceID, nil
			}
			u, err := uuid.NewV7()
			if err != nil {
				return "", err
			}
			return u.String(), nil
		})
		c.deviceID = id
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the bbolt file. Everything committed stays on disk.
func (c *Client) Close() error { return c.db.Close() }

// DeviceID is the device's persisted id.
func (c *Client) DeviceID() string { return c.deviceID }

// Sync registers the device if needed, pushes everything pending in batches, then pulls until
// the server has nothing more.
func (c *Client) Sync(ctx context.Context) (Report, error) {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	var rep Report
	if err := c.pushBatches(ctx, &rep); err != nil {
		return rep, err
	}
	if err := c.pullPages(ctx, &rep); err != nil {
		return rep, err
	}
	return rep, c.markSynced()
}

// push registers the device if needed and pushes everything pending.
func (c *Client) push(ctx context.Context) (Report, error) {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	var rep Report
	if err := c.pushBatches(ctx, &rep); err != nil {
		return rep, err
	}
	return rep, c.markSynced()
}

// pull registers the device if needed and pulls until the server has nothing more.
func (c *Client) pull(ctx context.Context) (Report, error) {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	var rep Report
	if err := c.pullPages(ctx, &rep); err != nil {
		return rep, err
	}
	return rep, c.markSynced()
}

func (c *Client) markSynced() error {
	now := c.opts.now().UTC().Format(time.RFC3339Nano)
	return c.db.Update(func(tx *bolt.Tx) error { return putMeta(tx, keyLastSync, now) })
}

func (c *Client) ensureRegistered(ctx context.Context, rep *Report) error {
	var registered bool
	if err := c.db.View(func(tx *bolt.Tx) error {
		registered = getMeta(tx, keyRegistered) == "1"
		return nil
	}); err != nil {
		return err
	}
	if registered {
		return nil
	}
	var dev sync.Device
	err := c.call(ctx, rep, "register device", func(ctx context.Context) error {
		var err error
		dev, err = c.t.RegisterDevice(ctx, c.deviceID, c.opts.ClientVersion, c.opts.SchemaVersion)
		return err
	})
	if err != nil {
		return err
	}
	return c.db.Update(func(tx *bolt.Tx) error {
		// Never hand out a seq the server has already applied for this device.
		if dev.NextSeq > nextSeq(tx) {
			if err := setNextSeq(tx, dev.NextSeq); err != nil {
				return err
			}
		}
		return putMeta(tx, keyRegistered, "1")
	})
}

func (c *Client) cursor() (string, error) {
	var cur string
	err := c.db.View(func(tx *bolt.Tx) error {
		cur = getMeta(tx, keyCursor)
		return nil
	})
	return cur, err
}
