package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lookfor-edu/lookfor/internal/bench"
)

// withPagesBench adds the page figures to `lookfor bench`: with --pages N it loads N observations
// into a generated district and times the site and district pages' first render (the round of
// REST calls each makes at once) next to each of those calls alone.
func withPagesBench(cmd *cobra.Command) *cobra.Command {
	cfg := bench.DefaultPagesConfig()
	cfg.Observations = 0
	f := cmd.Flags()
	f.IntVar(&cfg.Observations, "pages", 0, "observations in the district of the page figures (0: no page figures; the issue's size is 1000000)")
	f.IntVar(&cfg.Sites, "pages-sites", cfg.Sites, "sites of the page figures' district")
	f.IntVar(&cfg.Classrooms, "pages-classrooms", cfg.Classrooms, "classrooms per site of the page figures' district")
	f.IntVar(&cfg.Runs, "pages-runs", cfg.Runs, "timed rounds of each page's calls")
	inner := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if err := inner(c, args); err != nil {
			return err
		}
		if cfg.Observations == 0 {
			return nil
		}
		admin, _ := c.Flags().GetString("admin-url")
		res, err := bench.RunPages(c.Context(), admin, cfg, c.ErrOrStderr())
		if err != nil {
			return err
		}
		fmt.Fprintf(c.OutOrStdout(), "\nPages: server time of each page's first render (PostgreSQL %s)\n\n%s", res.PostgresVersion, res.Table())
		return nil
	}
	cmd.Long += "\n\nWith --pages N it also loads N observations into a generated district (--pages-sites × " +
		"--pages-classrooms) over two school years and times, as the district's first principal and its district " +
		"admin, the site page's and the district page's first render — every REST call the page makes, all at once, " +
		"from the first request to the last response — and each of those calls alone. For the page figures only: " +
		"--sync=false --progress-small 0 --pages 1000000."
	return cmd
}
