package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lookfor-edu/lookfor/store"
)

func migrateCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:       "migrate up|down|status",
		Short:     "Apply, roll back or list the embedded SQL migrations",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"up", "down", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "up", "down", "status":
			default:
				return fmt.Errorf("migrate: unknown action %q; use up, down or status", args[0])
			}
			if err := g.requireDB(); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := store.Open(ctx, g.databaseURL, store.Options{MaxConns: 2})
			if err != nil {
				return err
			}
			defer st.Close()
			m, err := st.NewMigrator()
			if err != nil {
				return err
			}
			defer m.Close()
			out := cmd.OutOrStdout()
			switch args[0] {
			case "up":
				res, err := m.Up(ctx)
				if err != nil {
					return fmt.Errorf("migrate up: %w", err)
				}
				for _, r := range res {
					fmt.Fprintf(out, "applied %s (%s)\n", r.Source.Path, r.Duration.Round(1e6))
				}
			case "down":
				r, err := m.Down(ctx)
				if err != nil {
					return fmt.Errorf("migrate down: %w", err)
				}
				fmt.Fprintf(out, "rolled back %s\n", r.Source.Path)
			case "status":
				sts, err := m.Status(ctx)
				if err != nil {
					return fmt.Errorf("migrate status: %w", err)
				}
				for _, s := range sts {
					when := "pending"
					if !s.AppliedAt.IsZero() {
						when = "applied " + s.AppliedAt.Format("2006-01-02 15:04:05")
					}
					fmt.Fprintf(out, "%-6d %-45s %s\n", s.Source.Version, s.Source.Path, when)
				}
				return nil
			default:
				return fmt.Errorf("migrate: unknown action %q; use up, down or status", args[0])
			}
			v, err := m.Version(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "database at version %d\n", v)
			return nil
		},
	}
	return cmd
}
