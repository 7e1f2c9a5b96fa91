package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lookfor-edu/lookfor/internal/bench"
)

// withNetworkBench adds the network figures (--network N) to the bench command.
func withNetworkBench(cmd *cobra.Command) *cobra.Command {
	cfg := bench.DefaultNetworkConfig()
	f := cmd.Flags()
	f.IntVar(&cfg.PerDistrict, "network", 0, "observations per district of the network figures (0: no network figures; the issue's size is 100000)")
	f.IntVar(&cfg.Districts, "network-districts", cfg.Districts, "opted-in districts of the network figures")
	f.IntVar(&cfg.Sites, "network-sites", cfg.Sites, "sites per district of the network figures")
	f.IntVar(&cfg.Classrooms, "network-classrooms", cfg.Classrooms, "classrooms per site of the network figures")
	f.IntVar(&cfg.Runs, "network-runs", cfg.Runs, "timed network measures calls each way")
	f.StringVar(&cfg.Database, "network-db", "", "keep the network figures' database under this name and reuse it: the first run creates and loads it, later runs of the same sizes reuse it without loading (drop it yourself when done)")
	inner := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if err := inner(c, args); err != nil {
			return err
		}
		if cfg.PerDistrict == 0 {
			return nil
		}
		admin, _ := c.Flags().GetString("admin-url")
		res, err := bench.RunNetwork(c.Context(), admin, cfg, c.ErrOrStderr())
		if err != nil {
			return err
		}
		fmt.Fprintf(c.OutOrStdout(), "\nNetwork measures: %d districts × %d sites × %d classrooms, %d observations each (PostgreSQL %s)\n\n%s",
			res.Districts, res.Sites, res.Classrooms, cfg.PerDistrict, res.PostgresVersion, res.Table(cfg))
		return nil
	}
	cmd.Long += "\n\nWith --network N it also loads N observations into each of --network-districts generated districts " +
		"(all opted in to network measures) over two school years and times the network measures of the school year " +
		"in progress as a network analyst: through one service, as a server reads them, and through a new service " +
		"each call (every site row read whole), alternately; the two must be equal. For the network figures only: " +
		"--sync=false --progress-small 0 --network 100000. --network-db NAME keeps the loaded database between runs " +
		"(DROP DATABASE NAME when done)."
	return cmd
}
