package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/generator/search"
)

func newSearch(g *globals) *cobra.Command {
	var (
		indexDir string
		asJSON   bool
		facets   []string
		size     int
	)
	cmd := &cobra.Command{
		Use:   "search QUERY",
		Short: "Search the built catalog's index",
		Long: `search queries the bleve index that marketplace build writes (DIR/search.bleve) and prints
the products found, best first, with counts per facet.

QUERY uses bleve's query-string syntax: plain words (any may match; products that match
them all come first; typos and word beginnings are matched too), +word (required),
-word (excluded), "a phrase", field:value (license:MIT, tag:fhir, category:fhir-server,
exposes:hl7-fhir-r4, needs:postgresql, sso:oidc, scim:yes, signature:verified,
publisher:acme, version:5.1.0; text fields name:, summary:, keywords:, description:),
word* and wo?d (wildcards), word~ or word~2 (edit distance), /regexp/ and word^2 (boost).

--index is relative to -C's folder when -C is given. Finding nothing is not an error: it
prints "no products match" and exits 0; a malformed query (an unterminated "phrase", an
invalid /regexp/, more than 1024 bytes or 32 clauses) is a usage error, exit 2.`,
		Example: `  marketplace search fhir postgres
  marketplace search '+license:MIT fhir' --json
  marketplace search smart --facet category:smart-app --index public`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := search.Request{Query: strings.Join(args, " "), Size: size, Filters: map[string][]string{}}
			for _, f := range facets {
				field, value, ok := strings.Cut(f, ":")
				if !ok || !slices.Contains(search.Facets, field) {
					return fmt.Errorf("--facet %q: want FIELD:VALUE with FIELD one of %s", f, strings.Join(search.Facets, ", "))
				}
				req.Filters[field] = append(req.Filters[field], value)
			}
			idx, err := search.Open(g.path(indexDir))
			if err != nil {
				return err
			}
			defer idx.Close()
			res, err := idx.Search(cmd.Context(), req)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			printResult(g.stdout, res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&indexDir, "index", "public", "output `DIR` of marketplace build (or its search.bleve folder)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON: hits, scores and facet counts")
	f.StringArrayVar(&facets, "facet", nil, "keep products with this `FIELD:VALUE` (repeatable; values of one field are alternatives)")
	f.IntVarP(&size, "size", "n", 10, "number of products to print")
	return cmd
}

// printResult prints hits, then facet counts, for a person.
func printResult(w io.Writer, res *search.Result) {
	if res.Total == 0 {
		fmt.Fprintln(w, "no products match")
		return
	}
	noun := "products match"
	if res.Total == 1 {
		noun = "product matches"
	}
	fmt.Fprintf(w, "%d %s %q (%.1f ms)\n", res.Total, noun, res.Query, res.TookMS)
	for i, h := range res.Hits {
		fmt.Fprintf(w, "\n%3d. %s  (%s", i+1, h.Name, h.ID)
		if h.Version != "" {
			fmt.Fprintf(w, " %s", h.Version)
		}
		fmt.Fprintln(w, ")")
		fmt.Fprintf(w, "     %s\n", h.Summary)
		facts := []string{h.PublisherName, h.License + " (" + h.LicenseStatus + ")", "signature " + h.Signature}
		if len(h.SSO) > 0 {
			facts = append(facts, "SSO "+strings.Join(h.SSO, ", "))
		}
		if h.SCIM {
			facts = append(facts, "SCIM")
		}
		fmt.Fprintf(w, "     %s\n", strings.Join(facts, " · "))
	}
	if len(res.Hits) < res.Total {
		fmt.Fprintf(w, "\n… and %d more (--size N for more)\n", res.Total-len(res.Hits))
	}
	fmt.Fprintln(w, "\nfacets:")
	for _, f := range res.Facets {
		if len(f.Values) == 0 {
			continue
		}
		var parts []string
		for i, v := range f.Values {
			if i == 8 {
				parts = append(parts, fmt.Sprintf("… %d more", len(f.Values)-i))
				break
			}
			parts = append(parts, fmt.Sprintf("%s %d", v.Value, v.Count))
		}
		fmt.Fprintf(w, "  %-15s %s\n", f.Field+":", strings.Join(parts, ", "))
	}
}
