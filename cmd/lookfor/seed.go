package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/store"
)

func seedCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Load the network's default rubric and a demo network (3 districts, 12 sites, 150 classrooms)",
		Long: "seed is idempotent: it upserts the demo roster and publishes the default K-8 Academic " +
			"Discourse rubric as the network rubric, version 1, unless that rubric exists already.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.requireDB(); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := store.Open(ctx, g.databaseURL, store.Options{MaxConns: 2})
			if err != nil {
				return err
			}
			defer st.Close()
			if err := seedDemo(ctx, st); err != nil {
				return err
			}
			d, s, c, p, err := st.RosterCounts(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "seeded: %d districts, %d sites, %d classrooms, %d staff; rubric %s\n",
				d, s, c, p, observation.DefaultRubricID)
			return nil
		},
	}
	return cmd
}

// seedDemo loads the default rubric and the demo roster; running it twice changes nothing.
func seedDemo(ctx context.Context, st *store.Store) error {
	if _, err := st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(time.Now().UTC())); err != nil {
		return fmt.Errorf("seeding the default rubric: %w", err)
	}
	n := demo.Network()
	return st.UpsertRoster(ctx, store.Roster{Districts: n.Districts, Sites: n.Sites, Classrooms: n.Classrooms, Staff: n.Staff})
}
