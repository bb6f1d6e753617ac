package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// listedProduct is one product in `marketplace list --json`.
type listedProduct struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	Summary    string        `json:"summary"`
	Categories []string      `json:"categories"`
	Builds     []listedBuild `json:"builds"` // newest first
}

type listedBuild struct {
	Version      string   `json:"version"`
	Released     string   `json:"released,omitempty"`
	Image        string   `json:"image"`
	Exposes      []string `json:"exposes"`
	Dependencies []string `json:"dependencies"` // interface IDs, optional ones suffixed with "?"
}

func newList(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the services of the catalog and their versions",
		Long: `list prints every product of the catalog with its versions (newest first) and the
interfaces its newest build provides: what you can add to an environment (MVP story 1).

--json prints an array of products, each with its builds (version, release date, image, the
interfaces it exposes and depends on; optional dependencies end in "?"), for scripts.`,
		Example: `  marketplace list
  marketplace list --json | jq -r '.[] | .id + "@" + .builds[0].version'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.checkedCatalog()
			if err != nil {
				return err
			}
			var list []listedProduct
			for _, id := range c.SortedProductIDs() {
				p := c.Products[id]
				lp := listedProduct{ID: p.ID, Name: p.Name, Summary: p.Summary, Categories: p.Categories, Builds: []listedBuild{}}
				if lp.Categories == nil {
					lp.Categories = []string{}
				}
				for _, b := range p.BuildsNewestFirst() {
					lb := listedBuild{Version: b.Version, Image: b.Image, Exposes: []string{}, Dependencies: []string{}}
					if b.Released != nil {
						lb.Released = b.Released.Format("2006-01-02")
					}
					for _, e := range b.Exposes {
						lb.Exposes = append(lb.Exposes, e.Interface)
					}
					for _, d := range b.Dependencies {
						id := d.Interface
						if !d.IsRequired() {
							id += "?"
						}
						lb.Dependencies = append(lb.Dependencies, id)
					}
					lp.Builds = append(lp.Builds, lb)
				}
				list = append(list, lp)
			}
			if asJSON {
				if list == nil {
					list = []listedProduct{}
				}
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PRODUCT\tVERSIONS\tPROVIDES\tNAME")
			for _, p := range list {
				var versions []string
				for _, b := range p.Builds {
					versions = append(versions, b.Version)
				}
				provides := "-"
				if len(p.Builds) > 0 && len(p.Builds[0].Exposes) > 0 {
					provides = strings.Join(p.Builds[0].Exposes, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.ID, strings.Join(versions, " "), provides, p.Name)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}
