package main

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/lookfor-edu/lookfor/export"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/store"
)

// operator is who the command line acts as in the audit log: whoever holds the database URL.
var operator = observation.Principal{UserID: "lookfor-cli", Role: observation.RoleAdmin}

func exportCmd(g *globals) *cobra.Command {
	var (
		req export.Request
		out string
	)
	cmd := &cobra.Command{
		Use:   "export --district D [--out FILE] [--max-observations N --after ID]",
		Short: "Write a district's data (observations with revisions, rubric versions, roster) to a zip",
		Long: `Writes every observation of the district (its current revision and every earlier one), the rubric
versions they use, the roster, goals and identity settings as JSON Lines and CSV in one zip
(docs/export.md). With --max-observations the archive stops after that many observations and its
manifest.json names the id to pass as --after for the next one. The export is recorded in the
district's audit log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := g.openStore(ctx, 2)
			if err != nil {
				return err
			}
			defer st.Close()
			var w io.Writer = cmd.OutOrStdout()
			var f *os.File
			if out != "" && out != "-" {
				if f, err = os.Create(out); err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			m, err := (&export.Exporter{Source: st}).Export(ctx, operator, req, w)
			if err != nil {
				if f != nil {
					_ = os.Remove(out)
				}
				return err
			}
			if f != nil {
				if err := f.Close(); err != nil {
					return err
				}
			}
			var rows int64
			for _, p := range m.Parts {
				if p.Name == "observations" {
					rows = p.Rows
				}
			}
			if m.Complete {
				fmt.Fprintf(cmd.ErrOrStderr(), "export: district %s, %d observations; the export is complete\n", m.DistrictID, rows)
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "export: district %s, %d observations; continue with --after %s\n", m.DistrictID, rows, m.NextAfter)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.DistrictID, "district", "", "the district to export (required)")
	f.StringVar(&req.After, "after", "", "continue after this observation id (the previous archive's next_after)")
	f.IntVar(&req.MaxObservations, "max-observations", 0, "most observations in this archive (0: all)")
	f.StringVarP(&out, "out", "o", "", "the zip file to write (default: standard output)")
	_ = cmd.MarkFlagRequired("district")
	return cmd
}

func importCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "import ARCHIVE.zip...",
		Short: "Load a district export (all its archives, in order) into a database that does not hold the district",
		Long: `Loads the archives of one district export, in the order they were written, in one transaction, then
computes the district's progress aggregates. The database must be migrated to the schema version
the export was written at and must not hold the district (docs/export.md).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := g.openStore(ctx, 2)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.CheckMigrated(ctx); err != nil {
				return err
			}
			archives := make([]export.Archive, len(args))
			for i, name := range args {
				r, err := zip.OpenReader(name)
				if err != nil {
					return fmt.Errorf("%s: not a readable zip archive: %w", name, err)
				}
				defer r.Close()
				archives[i] = export.Archive{Name: name, Zip: &r.Reader}
			}
			d, counts, err := export.Import(ctx, st, archives)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported district %s:\n", d)
			for _, c := range counts {
				fmt.Fprintf(cmd.OutOrStdout(), "  %-22s %d\n", c.Name, c.Rows)
			}
			return nil
		},
	}
}

// openStore opens the database of --database-url with a pool of conns connections.
func (g *globals) openStore(ctx context.Context, conns int32) (*store.Store, error) {
	if err := g.requireDB(); err != nil {
		return nil, err
	}
	return store.Open(ctx, g.databaseURL, store.Options{MaxConns: conns})
}
