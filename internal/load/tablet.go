package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	gosync "sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/tablet"
)

// simTablet is one simulated tablet: its own bbolt outbox, device, gRPC connection and signed-in
// user, recording observations on a timer and syncing on another.
type simTablet struct {
	n      int
	p      observation.Principal
	rooms  []observation.Classroom
	groups []observation.StudentGroup
	conn   *grpc.ClientConn
	c      *tablet.Client
	gen    *synth.Generator
	rng    *rand.Rand

	mu       gosync.Mutex
	recorded map[string]string // id → hash of the latest local version the tablet saved
	drafts   int               // records first saved as drafts, then submitted
	syncs    int               // Sync calls that returned
	syncErrs int               // Sync calls that gave up with an error
	lastErr  error
}

// principals spreads n tablets over the demo network: every tenth signs in as a real demo coach
// or principal (cycling through them), the others as synthetic coaches assigned to one demo site
// each, round robin, so every site has tablets pushing and pulling.
func principals(net demo.Roster, n int) []observation.Principal {
	var real []observation.Principal
	for _, s := range net.Staff {
		switch s.Role {
		case roster.StaffCoach:
			real = append(real, observation.Principal{UserID: s.ID, Role: observation.RoleCoach, DistrictID: s.DistrictID, SiteIDs: s.SiteIDs})
		case roster.StaffPrincipal:
			real = append(real, observation.Principal{UserID: s.ID, Role: observation.RolePrincipal, DistrictID: s.DistrictID, SiteIDs: s.SiteIDs})
		}
	}
	out := make([]observation.Principal, n)
	for i := range out {
		if i%10 == 0 && len(real) > 0 {
			out[i] = real[(i/10)%len(real)]
			continue
		}
		site := net.Sites[i%len(net.Sites)]
		out[i] = observation.Principal{UserID: fmt.Sprintf("load-coach-%03d", i), Role: observation.RoleCoach,
			DistrictID: site.DistrictID, SiteIDs: []string{site.ID}}
	}
	return out
}

// dial opens a tablet's own gRPC connection, reconnecting quickly after a server restart.
func dial(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}))
}

func newTablet(n int, dir, addr string, p observation.Principal, net demo.Roster, key identity.DevKey, issuer, audience string,
	seed int64, m *Metrics, newTransport func(*grpc.ClientConn, string) tablet.Transport) (*simTablet, error) {
	t := &simTablet{n: n, p: p, gen: synth.New(seed), rng: rand.New(rand.NewPCG(uint64(seed), 7)), recorded: map[string]string{}}
	for _, r := range net.Classrooms {
		if r.DistrictID == p.DistrictID && (p.Role == observation.RoleDistrictAdmin || contains(p.SiteIDs, r.SiteID)) {
			t.rooms = append(t.rooms, r)
		}
	}
	for _, d := range net.Districts {
		if d.ID == p.DistrictID {
			t.groups = d.Settings.StudentGroups
		}
	}
	if len(t.rooms) == 0 {
		return nil, fmt.Errorf("load: %s has no classrooms in scope", p.UserID)
	}
	tok, err := key.Mint(p, issuer, audience, 12*time.Hour)
	if err != nil {
		return nil, err
	}
	if t.conn, err = dial(addr); err != nil {
		return nil, err
	}
	tr := metered{inner: newTransport(t.conn, tok), m: m}
	t.c, err = tablet.Open(filepath.Join(dir, fmt.Sprintf("tablet-%03d.db", n)), tr, tablet.Options{
		ClientVersion: "lookfor-load/1", SchemaVersion: 1,
		MaxAttempts: 10, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 3 * time.Second, CallTimeout: 30 * time.Second,
	})
	if err != nil {
		t.conn.Close()
		return nil, err
	}
	return t, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (t *simTablet) close() {
	t.c.Close()
	t.conn.Close()
}

// jitter returns d scaled by a uniform factor in [0.5, 1.5).
func (t *simTablet) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + t.rng.Float64()))
}

// record saves observations every ~every until stop closes. With chance draftShare an
// observation is first saved as a draft and submitted at the next tick, as a coach finishing
// their notes later would.
func (t *simTablet) record(stop <-chan struct{}, every time.Duration, draftShare float64) error {
	rubric := observation.DefaultRubricVersion(time.Now())
	var draft *observation.Record
	timer := time.NewTimer(t.jitter(every))
	defer timer.Stop()
	for {
		select {
		case <-stop:
			if draft != nil { // finish the notes before putting the tablet away
				return t.submit(*draft)
			}
			return nil
		case <-timer.C:
		}
		timer.Reset(t.jitter(every))
		if draft != nil {
			if err := t.submit(*draft); err != nil {
				return err
			}
			draft = nil
			continue
		}
		// A lesson observed earlier today; the device clock never runs ahead of the server's.
		when := time.Now().UTC().Add(-2*time.Hour - time.Duration(t.rng.IntN(360))*time.Minute)
		r := t.gen.Record(synth.Input{Classroom: t.rooms[t.rng.IntN(len(t.rooms))], Observer: t.p, Rubric: rubric,
			StudentGroups: t.groups, When: when, Status: observation.RecordSubmitted})
		if t.rng.Float64() < draftShare {
			// The notes in progress: some scores and the next steps still to come.
			d := r
			d.Status = observation.RecordDraft
			d.Scores = slices.Clone(r.Scores[:t.rng.IntN(len(r.Scores)+1)])
			d.NextSteps = ""
			d.RecordedAt = r.RecordedAt.Add(-10 * time.Minute)
			if err := t.save(d); err != nil {
				return err
			}
			draft = &r
			continue
		}
		if err := t.save(r); err != nil {
			return err
		}
	}
}

// submit saves the finished version of a record first saved as a draft.
func (t *simTablet) submit(r observation.Record) error {
	t.mu.Lock()
	t.drafts++
	t.mu.Unlock()
	return t.save(r)
}

func (t *simTablet) save(r observation.Record) error {
	if _, err := t.c.Save(r); err != nil {
		return fmt.Errorf("tablet %d: save: %w", t.n, err)
	}
	t.mu.Lock()
	t.recorded[r.ID] = r.Hash()
	t.mu.Unlock()
	return nil
}

// syncLoop syncs every ~every until stop closes; a sync in flight when stop closes finishes.
// The first sync comes after a random part of the interval, so tablets do not sync in step.
func (t *simTablet) syncLoop(ctx context.Context, stop <-chan struct{}, every time.Duration) {
	timer := time.NewTimer(time.Duration(t.rng.Float64() * float64(every)))
	defer timer.Stop()
	for {
		select {
		case <-stop:
			return
		case <-timer.C:
		}
		_, err := t.c.Sync(ctx)
		t.mu.Lock()
		t.syncs++
		if err != nil {
			t.syncErrs++
			t.lastErr = err
		}
		t.mu.Unlock()
		timer.Reset(t.jitter(every))
	}
}

// finalSync syncs until the outbox is empty (a few attempts), as a tablet back on Wi-Fi would.
func (t *simTablet) finalSync(ctx context.Context) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if _, err = t.c.Sync(ctx); err == nil {
			var st tablet.LocalStatus
			if st, err = t.c.Status(); err == nil && st.Pending == 0 {
				return nil
			} else if err == nil {
				err = fmt.Errorf("%d changes still pending", st.Pending)
			}
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("tablet %d (%s): final sync: %w", t.n, t.p.UserID, err)
}

// expected lists what the tablet recorded, checking that its local store still holds each
// record with the hash it was saved with.
func (t *simTablet) expected() ([]Expected, []string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Expected
	var problems []string
	for id, hash := range t.recorded {
		r, _, ok, err := t.c.Record(id)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("tablet %d lost record %s locally", t.n, id))
			continue
		}
		if h := r.Hash(); h != hash {
			problems = append(problems, fmt.Sprintf("tablet %d holds record %s with hash %s, saved %s", t.n, id, h, hash))
		}
		out = append(out, Expected{ID: id, Hash: hash, DeviceID: t.c.DeviceID()})
	}
	return out, problems, nil
}
