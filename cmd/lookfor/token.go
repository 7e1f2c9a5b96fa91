package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/observation"
)

func tokenCmd() *cobra.Command {
	var (
		keyDir, issuer, audience string
		p                        observation.Principal
		role, sites              string
		ttl                      time.Duration
		demoUsers, jwksPath      bool
	)
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint a development token from the local dev key (created on first use)",
		Long: `Mint a development token from the local dev key (created on first use).

The token names a person: its subject is the staff id given with --user. The server resolves it
through the roster like any other token, so the person must be on the roster (lookfor seed puts
the demo network there) and gets the scope the roster gives them. --role, --district and --sites
only tell the tablet simulator whom it records as; the server ignores them.`,
		Example: `  lookfor token --role coach --user riverbend-usd.coach-1 --district riverbend-usd --sites riverbend-usd.lincoln-es
  lookfor token --demo          # one token per role of the demo network
  lookfor token --jwks-path     # where the matching public keys are, for serve --jwks-file`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, jwks, err := identity.EnsureDevKey(keyDir)
			if err != nil {
				return fmt.Errorf("dev key in %s: %w", keyDir, err)
			}
			out := cmd.OutOrStdout()
			if jwksPath {
				fmt.Fprintln(out, jwks)
				return nil
			}
			if demoUsers {
				for _, u := range demo.Principals(demo.Network()) {
					t, err := key.Mint(u.Principal, issuer, audience, ttl)
					if err != nil {
						return err
					}
					fmt.Fprintf(out, "%s\t%s\t%s\n", u.Principal.Role, u.Principal.UserID, t)
				}
				return nil
			}
			p.Role = observation.Role(role)
			if role != "" && !p.Role.Valid() {
				return fmt.Errorf("--role must be one of coach, principal, district_admin, network_analyst, admin")
			}
			if p.UserID == "" {
				return fmt.Errorf("--user is required")
			}
			if sites != "" {
				p.SiteIDs = strings.Split(sites, ",")
			}
			t, err := key.Mint(p, issuer, audience, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, t)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&keyDir, "key-dir", ".dev", "folder holding the dev signing key and its JWKS")
	f.StringVar(&issuer, "issuer", "lookfor-dev", "token issuer (iss); serve checks --jwt-issuer")
	f.StringVar(&audience, "audience", "lookfor", "token audience (aud); serve checks --jwt-audience")
	f.StringVar(&role, "role", "", "coach, principal, district_admin, network_analyst or admin (a hint for the tablet simulator; the roster decides)")
	f.StringVar(&p.UserID, "user", "", "staff id of the user (sub)")
	f.StringVar(&p.DistrictID, "district", "", "district id")
	f.StringVar(&sites, "sites", "", "comma-separated site ids")
	f.DurationVar(&ttl, "ttl", 12*time.Hour, "how long the token is valid")
	f.BoolVar(&demoUsers, "demo", false, "print role, user and token for one demo user of each role")
	f.BoolVar(&jwksPath, "jwks-path", false, "print the path of the public JWKS file and exit")
	return cmd
}
