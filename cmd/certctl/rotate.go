package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/appcred"
	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) rotateCommand() *cli.Command {
	return &cli.Command{
		Name:  "rotate",
		Usage: "replace an application's certificate with a new one made in the store, before it expires",
		Description: `When the certificate has at most --days-before days left, rotate:
   1. check      how many days the certificate has left
   2. create     make a new certificate in the same store, with its subject,
                 DNS names, key type and validity length
   3. register   add it to the application (addKey, proof signed by the old one)
   4. sign-in    sign in with it, retrying for up to 2 minutes while Entra ID
                 replicates it
   5. repoint    make the saved sign-ins that used the old one use it
   6. unregister remove the old one from the application (removeKey, proof
                 signed by the new one)
   7. remove-old with --remove-old, delete the old one from the store
Each step leaves a working sign-in, with the old certificate or the new one.
If a run stops part way, run the same command again: it finds the new
certificate it made (same subject, newer, in the store and on the
application) and finishes, without making a third. Graph is reached with a
token of the saved sign-in (--context, or the current one); the new
certificate signs in with --tenant, or that sign-in's tenant.

Examples:
   certctl rotate --application-id APP_ID --thumbprint CURRENT --dry-run
   certctl rotate --application-id APP_ID --thumbprint CURRENT --remove-old
   certctl rotate --application-id APP_ID --thumbprint CURRENT --days-before 60 --output json`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "application-id", Usage: "application (client) `ID` of the app registration (default: the saved sign-in's)"},
			&cli.StringFlag{Name: "thumbprint", Usage: "`THUMBPRINT` of the current certificate, in the store"},
			tenantFlag(),
			&cli.StringFlag{Name: "environment", Usage: "Azure cloud `NAME` (default: the saved sign-in's)"},
			&cli.IntFlag{Name: "days-before", Usage: "rotate when at most `N` days are left", Value: 30},
			&cli.BoolFlag{Name: "force", Usage: "rotate whatever the days left"},
			&cli.BoolFlag{Name: "remove-old", Usage: "delete the old certificate from the store at the end"},
			&cli.BoolFlag{Name: "exportable", Usage: "let the new key be exported again (Windows store)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan and change nothing"},
			contextFlag("talk to Graph as the saved sign-in `NAME` (default: the current one)"),
			storeFlag(), storeDirFlag(), outputFlag(),
		}, signInAgainFlags()...),
		Action: h.rotateAction,
	}
}

type rotationJSON struct {
	Rotated  bool       `json:"rotated"`
	DryRun   bool       `json:"dryRun"`
	Old      string     `json:"old"`
	New      string     `json:"new,omitempty"`
	DaysLeft int        `json:"daysLeft"`
	Steps    []stepJSON `json:"steps"`
}

type stepJSON struct {
	Number int    `json:"number"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

func (h *handlers) rotateAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	cur, ok, err := thumbprintFlag(c, "thumbprint")
	if err != nil {
		return err
	}
	if !ok {
		return &usageError{msg: "give the current certificate with --thumbprint THUMBPRINT"}
	}
	if n := c.Int("days-before"); n < 0 || n > 36500 {
		return &usageError{msg: fmt.Sprintf("--days-before %d: give a number of days from 0 to 36500", n)}
	}
	if t := c.String("tenant"); t != "" {
		if err := login.ValidateTenant(t); err != nil {
			return usage(fmt.Errorf("--tenant: %w", err))
		}
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	g, err := h.graph(c)
	if err != nil {
		return err
	}
	appID := g.appID
	dir, err := h.configDir()
	if err != nil {
		return err
	}
	envr := g.envr
	if name := c.String("environment"); name != "" {
		if envr, err = login.FindEnvironment(dir, name); err != nil {
			return usage(err)
		}
	}
	tenant := c.String("tenant")
	if tenant == "" {
		tenant = g.saved.Tenant
	}
	storeDir := absPath(c.String("store-dir"))
	r := &appcred.Rotation{
		Store: s, Graph: g.client, AppID: appID, Current: cur,
		DaysBefore: c.Int("days-before"), Force: c.Bool("force"), RemoveOld: c.Bool("remove-old"),
		Exportable: c.Bool("exportable"), DryRun: c.Bool("dry-run"),
		SignIn: func(ctx context.Context, id certstore.Identity) error {
			_, err := login.Token(ctx, login.Options{
				Method: login.MethodCertificate, Environment: envr, Tenant: tenant, ClientID: appID, Identity: id,
			}, envr.ManagementScope())
			return err
		},
		Repoint: func(old, new thumbprint.Thumbprint) ([]string, error) {
			return login.RepointCertificate(dir, s.Name(), storeDir, old, new)
		},
		Using: func(tp thumbprint.Thumbprint) ([]string, error) {
			return login.ContextsUsing(dir, s.Name(), storeDir, tp)
		},
	}
	if format != "json" {
		r.Report = func(st appcred.Step) {
			fmt.Fprintf(h.env.stdout, "%d/7 %-10s %-12s %s\n", st.Number, st.Name, st.Status, escapeText(st.Detail))
		}
	}
	// Each Graph request and sign-in has its own bounds; the rotation as a
	// whole gets the sign-in wait on top of the timeout.
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout(c, g.saved.Method)+2*time.Minute)
	defer cancel()
	res, err := r.Run(ctx)
	if err != nil {
		return err
	}
	if format == "json" {
		out := rotationJSON{Rotated: res.Rotated, DryRun: r.DryRun, Old: res.Old.String(), DaysLeft: res.DaysLeft, Steps: []stepJSON{}}
		if res.New != (thumbprint.Thumbprint{}) {
			out.New = res.New.String()
		}
		for _, st := range res.Steps {
			out.Steps = append(out.Steps, stepJSON{Number: st.Number, Name: st.Name, Status: st.Status, Detail: st.Detail})
		}
		return writeJSON(h.env.stdout, out)
	}
	return nil
}
