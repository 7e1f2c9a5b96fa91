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
	var cpuProfile, memProfile string
	var runSync bool
	def := bench.DefaultConfig("")
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure sync push and pull and the district progress view on this machine against baselines measured in the same run",
		Long: "bench creates a scratch database on --admin-url, starts a server on loopback ports, and prints a " +
			"Markdown table: push throughput through gRPC next to a raw pgx CopyFrom of the same rows, the p50 of an " +
			"incremental pull with nothing new, and the time of an initial pull of 5,000 records. With --push-stored N it then " +
			"loads N observations into the push database and measures the push rounds again.\n\n" +
			"Then, in a second scratch database, it loads --progress-small observations into one generated district " +
			"(--progress-sites × --progress-classrooms) over two school years through CopyObservations, which maintains " +
			"the progress aggregates, keeps a copy of that database, and loads the district up to --progress-large " +
			"observations. It then times the district progress view of the later year as a district admin on both " +
			"databases, alternating call by call, next to the same figures computed by a plain GROUP BY over the raw " +
			"observations, alternating run by run, and prints a second table. The view and the GROUP BY must agree on every " +
			"site and dimension, else bench fails. --progress-small 0 leaves the progress figures out.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.AdminURL == "" {
				return fmt.Errorf("--admin-url is required (a PostgreSQL URL whose role may create databases)")
			}
			if cfg.Progress.Small > 0 {
				if err := cfg.Progress.Validate(); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if runSync {
				res, err := bench.Run(cmd.Context(), cfg, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "\nlookfor bench (PostgreSQL %s)\n\n%s", res.PostgresVersion, res.Table(cfg))
			}
			if cfg.Progress.Small == 0 {
				return nil
			}
			pres, err := bench.RunProgress(cmd.Context(), cfg, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if !runSync {
				fmt.Fprintf(out, "\nlookfor bench (PostgreSQL %s)\n", pres.PostgresVersion)
			}
			fmt.Fprintf(out, "\nDistrict progress: one district of %d sites × %d classrooms, observations over school years %s and %s\n\n%s",
				pres.Sites, pres.Classrooms, pres.Previous, pres.Period, pres.Table(cfg.Progress))
			return nil
		},
	}
	// The profiles cover the whole command, the network and page figures (added around RunE) too.
	var profile *os.File
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if cpuProfile == "" {
			return nil
		}
		var err error
		if profile, err = os.Create(cpuProfile); err != nil {
			return err
		}
		return pprof.StartCPUProfile(profile)
	}
	cmd.PostRunE = func(c *cobra.Command, _ []string) error {
		if profile != nil {
			pprof.StopCPUProfile()
			if err := profile.Close(); err != nil {
				return err
			}
		}
		if memProfile != "" {
			return writeAllocProfile(memProfile)
		}
		return nil
	}
	f := cmd.Flags()
	f.StringVar(&cfg.AdminURL, "admin-url", "", "PostgreSQL URL of a role that may create databases")
	f.IntVar(&cfg.Devices, "devices", def.Devices, "concurrent pushing devices")
	f.IntVar(&cfg.BatchSize, "batch", def.BatchSize, "changes per push")
	f.IntVar(&cfg.BatchesPerDev, "batches", def.BatchesPerDev, "pushes per device per round")
	f.IntVar(&cfg.Rounds, "rounds", def.Rounds, "timed rounds, each measuring the CopyFrom baseline then the push (after one untimed warm-up round)")
	f.IntVar(&cfg.InitialPull, "initial-pull", def.InitialPull, "records in the initial pull")
	f.IntVar(&cfg.PullPage, "pull-page", def.PullPage, "pull page size")
	f.IntVar(&cfg.PushStored, "push-stored", def.PushStored, "after the push rounds, bulk-load this many observations into the pushers' district "+
		"(CopyObservations, aggregates maintained) and run the rounds again: push ÷ CopyFrom with that many stored, beside the empty database's (0: no second set)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run (client and server) to this file")
	f.StringVar(&memProfile, "memprofile", "", "write an allocation profile of the run (client and server) to this file when it ends")
	f.IntVar(&cfg.IncrementalRuns, "incremental-runs", def.IncrementalRuns, "empty incremental pulls to time")
	f.BoolVar(&runSync, "sync", true, "measure sync push and pull (--sync=false: the progress figures only)")
	p := &cfg.Progress
	f.IntVar(&p.Small, "progress-small", def.Progress.Small, "observations in the district at the first progress measurement (0: no progress figures)")
	f.IntVar(&p.Large, "progress-large", def.Progress.Large, "observations in the district at the second progress measurement")
	f.IntVar(&p.Sites, "progress-sites", def.Progress.Sites, "sites of the progress district")
	f.IntVar(&p.Classrooms, "progress-classrooms", def.Progress.Classrooms, "classrooms per site of the progress district")
	f.Int64Var(&p.Seed, "progress-seed", def.Progress.Seed, "seed of the progress district's roster and observations")
	f.IntVar(&p.Warmup, "progress-warmup", def.Progress.Warmup, "untimed district progress calls at each size before the timed ones")
	f.IntVar(&p.Runs, "progress-runs", def.Progress.Runs, "timed district progress calls at each size")
	f.IntVar(&p.BaselineRuns, "progress-baseline-runs", def.Progress.BaselineRuns, "timed GROUP BY runs at each size")
	return cmd
}

// writeAllocProfile writes the heap profile, whose alloc_space and alloc_objects count every
// allocation of the run (sampled), to path.
func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
