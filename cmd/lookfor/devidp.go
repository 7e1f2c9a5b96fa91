package main

import (
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/oidcprovider"
)

// Development identity provider credentials (make run prints them).
const (
	devIdPPassword  = "demo"
	devWebClient    = "lookfor-web"
	devWebSecret    = "lookfor-web-dev-secret"
	devTabletClient = "lookfor-tablet"
)

func devIdPCmd() *cobra.Command {
	var addr, redirect string
	cmd := &cobra.Command{
		Use:   "devidp",
		Short: "Run a development OpenID Provider with the demo network's people (make run starts it)",
		Long: `Run a development OpenID Provider on loopback: discovery, JWKS, authorization code with PKCE,
refresh tokens and a sign-in page. Every demo person who signs in (coaches, principals, district
administrators, the network analyst and the admin) has their staff id as username, the password
"demo" and their roster email, verified. Clients: lookfor-web (secret lookfor-web-dev-secret,
redirecting to --redirect-url) and lookfor-tablet (public, PKCE, redirecting to
http://127.0.0.1/callback). Development only: the passwords and the secret are public.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			users := oidcprovider.DemoUsers(demo.Network(), devIdPPassword)
			p, err := oidcprovider.Start(addr, users, []oidcprovider.Client{
				{ID: devWebClient, Secret: devWebSecret, RedirectURIs: []string{redirect}},
				{ID: devTabletClient, RedirectURIs: []string{"http://127.0.0.1/callback"}},
			})
			if err != nil {
				return err
			}
			defer p.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "development OpenID Provider at %s (%d people, password %q)\n", p.Issuer, len(users), devIdPPassword)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:9096", "listen address (loopback)")
	f.StringVar(&redirect, "redirect-url", "http://localhost:8080/auth/callback", "the lookfor server's /auth/callback, for lookfor-web")
	return cmd
}
