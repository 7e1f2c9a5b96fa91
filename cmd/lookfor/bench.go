package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/lookfor-edu/lookfor/internal/bench"
)

func benchCmd() *cobra.Command {
	var cfg bench.Config
	var cpuProfile string
	def := bench.DefaultConfig("")
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure sync push and pull on this machine against baselines measured in the same run",
		Long: "bench creates a scratch database on --admin-url, starts a server on loopback ports, and prints a " +
			"Markdown table: push throughput through gRPC next to a raw pgx CopyFrom of the same rows, the p50 of an " +
			"incremental pull with nothing new, and the time of an initial pull of 5,000 records.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.AdminURL == "" {
				return fmt.Errorf("--admin-url is required (a PostgreSQL URL whose role may create databases)")
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			res, err := bench.Run(cmd.Context(), cfg, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nlookfor bench (PostgreSQL %s)\n\n%s", res.PostgresVersion, res.Table(cfg))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.AdminURL, "admin-url", "", "PostgreSQL URL of a role that may create databases")
	f.IntVar(&cfg.Devices, "devices", def.Devices, "concurrent pushing devices")
	f.IntVar(&cfg.BatchSize, "batch", def.BatchSize, "changes per push")
	f.IntVar(&cfg.BatchesPerDev, "batches", def.BatchesPerDev, "pushes per device per round")
	f.IntVar(&cfg.Rounds, "rounds", def.Rounds, "rounds, each measuring the CopyFrom baseline then the push")
	f.IntVar(&cfg.InitialPull, "initial-pull", def.InitialPull, "records in the initial pull")
	f.IntVar(&cfg.PullPage, "pull-page", def.PullPage, "pull page size")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run (client and server) to this file")
	f.IntVar(&cfg.IncrementalRuns, "incremental-runs", def.IncrementalRuns, "empty incremental pulls to time")
	return cmd
}
