package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/tablet"
)

// tabletFlags say which tablet this is and who is signed in on it.
type tabletFlags struct {
	db, server, token, as, keyDir, issuer, audience string
	timeout                                         time.Duration
}

func (f *tabletFlags) register(cmd *cobra.Command) {
	p := cmd.PersistentFlags()
	p.StringVar(&f.db, "db", ".dev/tablet.db", "the tablet's local store (outbox and records)")
	p.StringVar(&f.server, "server", "127.0.0.1:9090", "the lookfor gRPC address")
	p.StringVar(&f.token, "token", "", "bearer token of the signed-in user (default: a dev token for --as)")
	p.StringVar(&f.as, "as", "coach", "with no --token: sign in as the demo user of this role, minted from --key-dir")
	p.StringVar(&f.keyDir, "key-dir", ".dev", "dev signing key folder (see lookfor token)")
	p.StringVar(&f.issuer, "issuer", "lookfor-dev", "issuer of minted dev tokens")
	p.StringVar(&f.audience, "audience", "lookfor", "audience of minted dev tokens")
	p.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up a sync after this long")
}

// signIn returns the token and the principal it names.
func (f *tabletFlags) signIn() (string, observation.Principal, error) {
	if f.token != "" {
		p, err := identity.Peek(f.token)
		return f.token, p, err
	}
	for _, u := range demo.Principals(demo.Network()) {
		if string(u.Principal.Role) == f.as {
			key, _, err := identity.EnsureDevKey(f.keyDir)
			if err != nil {
				return "", observation.Principal{}, err
			}
			t, err := key.Mint(u.Principal, f.issuer, f.audience, 12*time.Hour)
			return t, u.Principal, err
		}
	}
	return "", observation.Principal{}, fmt.Errorf("--as %q: no demo user with that role", f.as)
}

// open opens the tablet's store with a gRPC transport to --server.
func (f *tabletFlags) open() (*tablet.Client, observation.Principal, func(), error) {
	token, p, err := f.signIn()
	if err != nil {
		return nil, p, nil, err
	}
	conn, err := grpc.NewClient(f.server, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return nil, p, nil, err
	}
	if p.Role == "" {
		// A token from an identity provider says who, not what: ask the server, which resolves it
		// through the roster (development tokens carry the scope they were minted for).
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		me, err := pb.NewIdentityServiceClient(conn).WhoAmI(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), &pb.WhoAmIRequest{})
		if err != nil {
			conn.Close()
			return nil, p, nil, fmt.Errorf("asking the server who the token names: %w", err)
		}
		p = observation.Principal{UserID: me.GetUserId(), Role: observation.Role(strings.ToLower(strings.TrimPrefix(me.GetRole().String(), "ROLE_"))),
			DistrictID: me.GetDistrictId(), SiteIDs: me.GetSiteIds()}
	}
	tr := server.NewTransport(conn, func(context.Context) (string, error) { return token, nil })
	c, err := tablet.Open(f.db, tr, tablet.Options{ClientVersion: "lookfor-tablet/1", SchemaVersion: 1})
	if err != nil {
		conn.Close()
		return nil, p, nil, err
	}
	return c, p, func() { c.Close(); conn.Close() }, nil
}

func tabletCmd() *cobra.Command {
	f := &tabletFlags{}
	cmd := &cobra.Command{
		Use:   "tablet",
		Short: "A tablet simulator: record observations offline into a durable outbox, then sync",
		Example: `  lookfor tablet record --n 20        # 20 realistic observations, offline
  lookfor tablet status
  lookfor tablet sync                 # push the outbox, pull what changed`,
	}
	f.register(cmd)
	cmd.AddCommand(tabletRecordCmd(f), tabletSyncCmd(f), tabletStatusCmd(f))
	return cmd
}

func tabletRecordCmd(f *tabletFlags) *cobra.Command {
	var n int
	var seed int64
	var draft bool
	cmd := &cobra.Command{
		Use:   "record",
		Short: "Record realistic observations offline (no network needed)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, p, closeFn, err := f.open()
			if err != nil {
				return err
			}
			defer closeFn()
			net := demo.Network()
			var rooms []observation.Classroom
			for _, r := range net.Classrooms {
				if r.DistrictID == p.DistrictID && (p.Role == observation.RoleDistrictAdmin || slices.Contains(p.SiteIDs, r.SiteID)) {
					rooms = append(rooms, r)
				}
			}
			var groups []observation.StudentGroup
			for _, d := range net.Districts {
				if d.ID == p.DistrictID {
					groups = d.Settings.StudentGroups
				}
			}
			if len(rooms) == 0 {
				return fmt.Errorf("%s has no demo classrooms in scope (district %q, sites %v)", p.UserID, p.DistrictID, p.SiteIDs)
			}
			if seed == 0 {
				seed = time.Now().UnixNano()
			}
			status := observation.RecordSubmitted
			if draft {
				status = observation.RecordDraft
			}
			g := synth.New(seed)
			rubric := observation.DefaultRubricVersion(time.Now())
			end := time.Now().UTC().Add(-time.Hour)
			for i := 0; i < n; i++ {
				r := g.Record(synth.Input{Classroom: rooms[i%len(rooms)], Observer: p, Rubric: rubric, StudentGroups: groups,
					When: end.Add(-time.Duration(n-i) * 7 * time.Minute), Status: status})
				if _, err := c.Save(r); err != nil {
					return err
				}
			}
			st, err := c.Status()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recorded %d observations as %s; %d changes waiting to sync\n", n, p.UserID, st.Pending)
			return nil
		},
	}
	cmd.Flags().IntVar(&n, "n", 10, "how many observations")
	cmd.Flags().Int64Var(&seed, "seed", 0, "random seed (0: from the clock)")
	cmd.Flags().BoolVar(&draft, "draft", false, "leave them as drafts instead of submitting")
	return cmd
}

func tabletSyncCmd(f *tabletFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "sync",
		Short: "Push the outbox and pull what changed, retrying through network and server failures",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, closeFn, err := f.open()
			if err != nil {
				return err
			}
			defer closeFn()
			ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
			defer cancel()
			rep, err := c.Sync(ctx)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "pushed %d (applied %d, duplicate %d, conflict %d, rejected %d) in %d batches, %d retries; pulled %d, removed %d\n",
				rep.Pushed, rep.Applied, rep.Duplicates, rep.Conflicts, rep.Rejected, rep.Batches, rep.Retries, rep.Pulled, rep.Removed)
			if errors.Is(err, tablet.ErrUnauthenticated) {
				return fmt.Errorf("%w: sign in again (a new --token), then sync", err)
			}
			return err
		},
	}
}

func tabletStatusCmd(f *tabletFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the outbox, conflicts, rejections and last sync",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, p, closeFn, err := f.open()
			if err != nil {
				return err
			}
			defer closeFn()
			st, err := c.Status()
			if err != nil {
				return err
			}
			last := "never"
			if !st.LastSync.IsZero() {
				last = st.LastSync.Format(time.RFC3339)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "device %s (user %s, registered %v)\nrecords %d, waiting to sync %d, next seq %d\nconflicts %d, rejected %d, last sync %s\n",
				st.DeviceID, p.UserID, st.Registered, st.Records, st.Pending, st.NextSeq, st.Conflicts, st.Rejected, last)
			rej, err := c.Rejections()
			if err != nil {
				return err
			}
			for _, r := range rej {
				fmt.Fprintf(cmd.OutOrStdout(), "  rejected %s: %s %s: %s\n", r.Result.ObservationID, r.Result.Reason, r.Result.Field, r.Result.Message)
			}
			return nil
		},
	}
}
