package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lookfor-edu/lookfor/internal/load"
)

func loadCmd(g *globals) *cobra.Command {
	cfg := load.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Drive many simulated tablets against a server, optionally through a fault, then check exactly-once",
		Long: "load starts `lookfor serve` as a child process on loopback ports with a scratch database on " +
			"--database-url's server (or uses --server), runs --tablets simulated tablets that record observations " +
			"offline and sync concurrently for --duration, optionally injecting a --fault, then syncs every tablet once " +
			"more and checks that every observation every tablet recorded is on the server exactly once with an equal " +
			"content hash. It prints a Markdown table: throughput, p50/p99 push and pull latency, failed calls, the " +
			"server's peak RSS and the check. The exit status is non-zero when the check or the fault verdict fails.",
		Example: `  lookfor load --tablets 200 --duration 60s
  lookfor load --tablets 30 --duration 20s --fault server-kill
  lookfor load --fault pg-restart --pg-dir /tmp/pg --pg-port 55433   # the cluster scripts/pg.sh runs there`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.DatabaseURL = g.databaseURL
			if cfg.Server == "" {
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				cfg.Binary = exe
			}
			res, err := load.Run(cmd.Context(), cfg, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nlookfor load (PostgreSQL %s, fault: %s)\n\n%s", res.Postgres, cfg.Fault, res.Table())
			if !res.Passed() {
				return errors.New("load: the run FAILED (see the table)")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Tablets, "tablets", cfg.Tablets, "simulated tablets, each with its own outbox, device, connection and user")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of the load phase")
	f.DurationVar(&cfg.RecordEvery, "record-every", cfg.RecordEvery, "mean time between two observations on one tablet")
	f.DurationVar(&cfg.SyncEvery, "sync-every", cfg.SyncEvery, "mean time between two syncs of one tablet")
	f.Float64Var(&cfg.DraftShare, "draft-share", cfg.DraftShare, "share of observations saved as a draft first and submitted later")
	f.StringVar(&cfg.Server, "server", "", "gRPC address of a running server (default: start `lookfor serve` on loopback ports)")
	f.IntVar(&cfg.Servers, "servers", cfg.Servers, "`lookfor serve` processes the run starts on the one database; tablets are spread across them round-robin (fault none only when above 1)")
	f.IntVar(&cfg.DBMaxConns, "db-max-conns", cfg.DBMaxConns, "PostgreSQL pool size of the server the run starts")
	f.StringVar(&cfg.KeyDir, "key-dir", "", "dev signing key folder (default: a fresh key; .dev with --server)")
	f.StringVar(&cfg.Issuer, "issuer", cfg.Issuer, "issuer of minted dev tokens (default lookfor-load; with --server lookfor-dev, as `make run` serves)")
	f.StringVar(&cfg.Audience, "audience", cfg.Audience, "audience of minted dev tokens")
	f.StringVar(&cfg.Fault, "fault", cfg.Fault, "fault to inject: "+strings.Join(load.Faults, ", "))
	f.StringVar(&cfg.PGDir, "pg-dir", "", "pg-restart: folder of the throwaway cluster the database is on (LOOKFOR_DEV_PG_DIR of scripts/pg.sh)")
	f.IntVar(&cfg.PGPort, "pg-port", 0, "pg-restart: port of that cluster (LOOKFOR_DEV_PG_PORT)")
	f.StringVar(&cfg.PGScript, "pg-script", cfg.PGScript, "pg-restart: the scripts/pg.sh that stops and starts the cluster")
	f.DurationVar(&cfg.Outage, "outage", cfg.Outage, "pg-restart and server-kill: how long PostgreSQL or the server stays down")
	f.Float64Var(&cfg.CutRate, "cut-rate", cfg.CutRate, "conn-cut: chance that a push in flight has its connection cut")
	f.DurationVar(&cfg.FinalSyncTimeout, "final-sync-timeout", cfg.FinalSyncTimeout, "bound on the final sync of every tablet")
	f.StringVar(&cfg.WorkDir, "work-dir", "", "keep the tablets' stores and the server log here (default: a temporary folder, removed)")
	f.StringArrayVar(&cfg.ServeArgs, "serve-arg", nil,
		"one more flag for every `lookfor serve` the run starts, repeatable (e.g. --serve-arg=--debug-addr=127.0.0.1:6060 --serve-arg=--memory-limit=100MiB)")
	f.Int64Var(&cfg.Seed, "seed", 0, "random seed of the synthetic observations (0: from the clock)")
	return cmd
}
