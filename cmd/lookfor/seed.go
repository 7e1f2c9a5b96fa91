package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/seedgen"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/store"
)

// seedFlags size the network and the observations `lookfor seed` loads.
type seedFlags struct {
	districts, sitesPerDistrict, classroomsPerSite int
	observations                                   int
	seed                                           int64
	schoolYearStart                                string
	appendObs                                      bool
	batchSize                                      int
}

// maxSeedObservations bounds --observations (about 3 GB of content per 1M rows beyond that).
const maxSeedObservations = 50_000_000

func seedCmd(g *globals) *cobra.Command {
	f := &seedFlags{}
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Load the network's default rubric and a demo network (3 districts, 12 sites, 150 classrooms), or a generated network with synthetic observations",
		Long: "seed is idempotent and never overwrites what a district changed: it creates the demo districts " +
			"that do not exist yet, each with its sites, staff and classrooms, and publishes the default K-8 Academic " +
			"Discourse rubric as the network rubric, version 1, unless that rubric exists already. A district that " +
			"exists is left exactly as it is (settings, roster, goals, rubrics). The database must be migrated first " +
			"(lookfor migrate up).\n\n" +
			"With --districts it loads a generated network of that size instead (--sites-per-district × " +
			"--classrooms-per-site, one teacher per classroom, a principal per site, coaches for two or three sites " +
			"each, a district admin); the network, its names and its ids follow from --seed, and its district ids " +
			"end in the seed (\"cedarbrook-usd-s1\"), so networks of different seeds live side by side.\n\n" +
			"With --observations it also bulk-loads that many synthetic, submitted observations (revision 1) " +
			"into the network through COPY: school days from --school-year-start up to yesterday, scores that " +
			"improve over the year, a leniency per observer, about 10% calibration pairs (two observers of the " +
			"same lesson sharing a co_observation key), participation counts by student group. Observation ids " +
			"follow from --seed and each observation's index, so a second run with the same flags would store " +
			"the same observations again: seed refuses to load observations into a district that already has " +
			"some unless --append is given, and with --append it skips every observation already stored (same " +
			"--seed and index) and loads only the new ones — for example the indexes above an earlier, smaller " +
			"--observations, or all of a different --seed.",
		Example: `  lookfor seed                                   # the demo network and the default rubric
  lookfor seed --observations 20000              # ... and 20,000 observations in it
  lookfor seed --districts 10 --sites-per-district 30 --classrooms-per-site 25 --observations 1000000
  lookfor seed --districts 10 --observations 2000000 --append   # add the indexes 1,000,000 and up`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			if err := g.requireDB(); err != nil {
				return err
			}
			yearStart, err := f.yearStart(time.Now())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := store.Open(ctx, g.databaseURL, store.Options{MaxConns: 3})
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.CheckMigrated(ctx); err != nil {
				return err
			}
			net := demo.Network()
			if f.districts > 0 {
				if net, err = demo.Scale(demo.ScaleConfig{Districts: f.districts, SitesPerDistrict: f.sitesPerDistrict,
					ClassroomsPerSite: f.classroomsPerSite, Seed: f.seed}); err != nil {
					return err
				}
			}
			if f.observations > 0 && !f.appendObs {
				if err := refuseReseed(ctx, st, net, f.observations); err != nil {
					return err
				}
			}
			kept, err := seedRoster(ctx, st, net)
			if err != nil {
				return err
			}
			if len(kept) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "seed: %d districts exist already and are left as they are: %s\n",
					len(kept), strings.Join(kept, ", "))
			}
			d, s, c, p, err := st.RosterCounts(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "seeded: %d districts, %d sites, %d classrooms, %d staff; rubric %s\n",
				d, s, c, p, observation.DefaultRubricID)
			if f.observations == 0 {
				return nil
			}
			rv, err := st.GetRubricVersion(ctx, observation.DefaultRubricID, 1)
			if err != nil {
				return fmt.Errorf("reading the default rubric: %w", err)
			}
			plan, err := seedgen.New(net, rv, f.seed, f.observations, yearStart, time.Now().UTC())
			if err != nil {
				return err
			}
			sum, err := plan.Load(ctx, st, seedgen.LoadOptions{Batch: f.batchSize, SkipExisting: f.appendObs, Progress: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			rate := float64(sum.Written+sum.Skipped) / sum.Elapsed.Seconds()
			fmt.Fprintf(out, "observations: %d loaded (%d in calibration pairs), %d already stored skipped, in %s (%.0f rows/s); school days %s to %s\n",
				sum.Written, sum.Calibration, sum.Skipped, sum.Elapsed.Round(10*time.Millisecond), rate,
				plan.FirstDay.Format(time.DateOnly), plan.LastDay.Format(time.DateOnly))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.districts, "districts", 0, "generate a network of this many districts instead of the demo network")
	fl.IntVar(&f.sitesPerDistrict, "sites-per-district", 30, "sites per generated district (with --districts)")
	fl.IntVar(&f.classroomsPerSite, "classrooms-per-site", 25, "classrooms per generated site (with --districts)")
	fl.IntVar(&f.observations, "observations", 0, "synthetic observations to load, in total (0: none)")
	fl.Int64Var(&f.seed, "seed", 1, "random seed of the generated network and observations")
	fl.StringVar(&f.schoolYearStart, "school-year-start", "",
		"first day of the school year the observations fall in, YYYY-MM-DD (default: 1 August of the current school year)")
	fl.BoolVar(&f.appendObs, "append", false,
		"load observations into districts that already have some, skipping those already stored")
	fl.IntVar(&f.batchSize, "batch-size", store.CopyBatchSize, "observations per COPY")
	_ = fl.MarkHidden("batch-size")
	return cmd
}

func (f *seedFlags) check(cmd *cobra.Command) error {
	if f.districts < 0 {
		return fmt.Errorf("--districts must not be negative")
	}
	if f.districts == 0 {
		for _, name := range []string{"sites-per-district", "classrooms-per-site"} {
			if cmd.Flags().Changed(name) {
				return fmt.Errorf("--%s needs --districts (without it seed loads the fixed demo network)", name)
			}
		}
	} else if err := (demo.ScaleConfig{Districts: f.districts, SitesPerDistrict: f.sitesPerDistrict,
		ClassroomsPerSite: f.classroomsPerSite}).Validate(); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "demo: "))
	}
	if f.observations < 0 || f.observations > maxSeedObservations {
		return fmt.Errorf("--observations must be 0 to %d, got %d", maxSeedObservations, f.observations)
	}
	if f.batchSize < 1 {
		return fmt.Errorf("--batch-size must be at least 1")
	}
	return nil
}

// yearStart is --school-year-start, or 1 August on or before now (UTC).
func (f *seedFlags) yearStart(now time.Time) (time.Time, error) {
	now = now.UTC()
	if f.schoolYearStart == "" {
		y := now.Year()
		if now.Month() < time.August {
			y--
		}
		return time.Date(y, time.August, 1, 0, 0, 0, 0, time.UTC), nil
	}
	t, err := time.Parse(time.DateOnly, f.schoolYearStart)
	if err != nil {
		return t, fmt.Errorf("--school-year-start %q: want a date like 2025-08-01", f.schoolYearStart)
	}
	if t.After(now) {
		return t, fmt.Errorf("--school-year-start %s is in the future", f.schoolYearStart)
	}
	return t, nil
}

// seedRoster loads the default rubric, unless it exists, and the districts of n that do not
// exist yet, with their rosters. Districts that exist already are not touched — their settings,
// rosters, goals and rubrics are the district's, whatever an earlier seed put there — and are
// returned, so running seed twice changes nothing.
func seedRoster(ctx context.Context, st *store.Store, n demo.Roster) (kept []string, err error) {
	if _, err := st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(time.Now().UTC())); err != nil {
		return nil, fmt.Errorf("seeding the default rubric: %w", err)
	}
	created, err := st.SeedRoster(ctx, store.Roster{Districts: n.Districts, Sites: n.Sites, Classrooms: n.Classrooms, Staff: n.Staff, NetworkStaff: n.NetworkStaff})
	if err != nil {
		return nil, err
	}
	for _, d := range n.Districts {
		if !slices.Contains(created, d.ID) {
			kept = append(kept, d.ID)
		}
	}
	return kept, nil
}

// refuseReseed fails when a district of the network has observations already: loading again
// would add to them, and the same seed gives the same ids.
func refuseReseed(ctx context.Context, st *store.Store, net demo.Roster, n int) error {
	ids := make([]string, len(net.Districts))
	for i, d := range net.Districts {
		ids[i] = d.ID
	}
	counts, err := st.ObservationCounts(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if c := counts[id]; c > 0 {
			return fmt.Errorf("district %s already has %d observations; seed does not load %d more on top of them unless "+
				"--append is given (which skips the observations already stored: same --seed and index)", id, c, n)
		}
	}
	return nil
}
