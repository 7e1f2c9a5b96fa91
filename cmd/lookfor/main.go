// Command lookfor is the lookfor service and its tools: serve, migrate, seed, export, import, token, tablet,
// bench and load. It wires the packages together and may import any of them (docs/architecture.md).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C during the drain ends the process at once
	}()
	if err := rootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "lookfor:", err)
		os.Exit(1)
	}
}

// global flags shared by every subcommand.
type globals struct {
	databaseURL string
	logFormat   string
	logLevel    string
}

func rootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "lookfor",
		Short:         "Academic-discourse classroom observations: rubrics, offline sync, progress views",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd)
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.databaseURL, "database-url", "", "PostgreSQL URL (env DATABASE_URL or LOOKFOR_DATABASE_URL)")
	pf.StringVar(&g.logFormat, "log-format", "json", "log format: json or console")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(serveCmd(g), migrateCmd(g), seedCmd(g), tokenCmd(), withNetworkBench(withPagesBench(benchCmd())), tabletCmd(), loadCmd(g), devIdPCmd(),
		exportCmd(g), importCmd(g))
	return root
}

// applyEnv gives every flag an environment fallback: --grpc-addr ← LOOKFOR_GRPC_ADDR. A flag
// given on the command line wins. --database-url also reads DATABASE_URL.
func applyEnv(cmd *cobra.Command) error {
	var err error
	set := func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		name := "LOOKFOR_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(name)
		if !ok && f.Name == "database-url" {
			v, ok = os.LookupEnv("DATABASE_URL")
		}
		if ok {
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, serr)
			}
		}
	}
	cmd.Flags().VisitAll(set)
	cmd.InheritedFlags().VisitAll(set)
	return err
}

func (g *globals) logger() (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(g.logLevel)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	var cfg zap.Config
	switch g.logFormat {
	case "json":
		cfg = zap.NewProductionConfig()
	case "console":
		cfg = zap.NewDevelopmentConfig()
		cfg.DisableStacktrace = true
	default:
		return nil, fmt.Errorf("--log-format must be json or console, not %q", g.logFormat)
	}
	cfg.Level = zap.NewAtomicLevelAt(level)
	return cfg.Build()
}

func (g *globals) requireDB() error {
	if g.databaseURL == "" {
		return fmt.Errorf("no database: set --database-url or DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/lookfor?sslmode=disable)")
	}
	return nil
}
