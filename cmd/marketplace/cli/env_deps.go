package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hspc/marketplace/catalog/env"
)

func newEnvDeps(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "deps FILE [--json]",
		Short: "Show what each service of an environment needs and what provides it",
		Long: `deps resolves the environment and prints it as a tree: each service, its build, and under it
each dependency with the service or external that provides it (and what that one needs in turn).
A required dependency nothing provides lists the catalog products that could, with their own
needs; an optional one is shown as not bound. Problems are printed after the tree, and make the
exit status 1.

--json prints the resolution instead: each service with its build, parameters (where each value
comes from; secrets shown as ${KEY}, never their values) and dependencies with their providers,
the missing dependencies with their candidates, the secrets and the notes.`,
		Example: `  marketplace env deps environments/fhir.toml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := g.openEnv(args[0])
			if err != nil {
				return err
			}
			c, err := g.checkedCatalog()
			if err != nil {
				return err
			}
			res, ds := env.Resolve(c, f.env, f.lock, env.Options{})
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res.Report()); err != nil {
					return err
				}
			} else if err := writeTree(g.stdout, res); err != nil {
				return err
			}
			if len(ds) > 0 {
				if err := ds.Write(g.stderr, "text"); err != nil {
					return err
				}
			}
			g.printNotes(res)
			if n := ds.Errors(); n > 0 {
				return problemsError{fmt.Sprintf("%s: %s", f.path, plural(n, "error"))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the resolution as JSON")
	return cmd
}

// writeTree prints the resolution's dependency tree.
func writeTree(w io.Writer, res *env.Resolution) error {
	var b strings.Builder
	for _, n := range res.Tree() {
		b.WriteString(nodeLabel(n))
		b.WriteByte('\n')
		writeNeeds(&b, n, "")
	}
	if len(res.Services) == 0 && len(res.Externals) == 0 {
		b.WriteString("(no services: add one with marketplace env add FILE PUBLISHER/PRODUCT --with-deps)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func nodeLabel(n *env.Node) string {
	if s := n.Service; s != nil {
		label := fmt.Sprintf("%s: %s %s", s.Name, s.Product.ID, s.Build.Version)
		switch {
		case s.Locked:
			label += fmt.Sprintf(" (%s, locked)", s.Constraint)
		case s.Constraint != "":
			label += fmt.Sprintf(" (%s)", s.Constraint)
		}
		return label
	}
	return fmt.Sprintf("%s: external %s", n.External.Name, n.External.Interface)
}

func writeNeeds(b *strings.Builder, n *env.Node, indent string) {
	if n.Seen {
		return
	}
	for i, e := range n.Needs {
		last := i == len(n.Needs)-1
		branch, next := "├── ", "│   "
		if last {
			branch, next = "└── ", "    "
		}
		d := e.Bound.Dependency
		b.WriteString(indent + branch + d.Interface)
		if !d.IsRequired() {
			b.WriteString(" (optional)")
		}
		switch {
		case e.Node != nil:
			b.WriteString(" ← " + nodeLabel(e.Node))
			if e.Bound.Interface != d.Interface {
				b.WriteString(" as " + e.Bound.Interface)
			}
			if binds := bindList(e.Bound); binds != "" {
				b.WriteString("; " + binds)
			}
			if e.Node.Seen {
				b.WriteString(" (needs shown above)")
			}
			b.WriteByte('\n')
			writeNeeds(b, e.Node, indent+next)
		case e.Missing != nil:
			b.WriteString(": MISSING")
			if len(e.Missing.Candidates) == 0 {
				b.WriteString("; no catalog product provides it: declare an [[externals]] entry\n")
				continue
			}
			b.WriteString("; catalog products that provide it:\n")
			writeCandidates(b, e.Missing.Candidates, indent+next, map[*env.Candidate]bool{})
		default:
			b.WriteString(": not bound\n")
		}
	}
}

// writeCandidates prints candidates with their needs; a candidate already printed (candidates
// are shared between the interfaces that need them) is printed without them.
func writeCandidates(b *strings.Builder, cands []*env.Candidate, indent string, shown map[*env.Candidate]bool) {
	for i, c := range cands {
		branch, next := "├── ", "│   "
		if i == len(cands)-1 {
			branch, next = "└── ", "    "
		}
		if shown[c] && len(c.Needs) > 0 {
			fmt.Fprintf(b, "%s%s%s %s (exposes %s; needs shown above)\n", indent, branch, c.Product.ID, c.Build.Version, c.Interface)
			continue
		}
		shown[c] = true
		fmt.Fprintf(b, "%s%s%s %s (exposes %s)\n", indent, branch, c.Product.ID, c.Build.Version, c.Interface)
		for j, n := range c.Needs {
			nb := "├── "
			nn := "│   "
			if j == len(c.Needs)-1 {
				nb, nn = "└── ", "    "
			}
			switch {
			case n.Provided != "":
				fmt.Fprintf(b, "%s%sneeds %s ← %s\n", indent+next, nb, n.Interface, n.Provided)
			case len(n.Candidates) == 0:
				fmt.Fprintf(b, "%s%sneeds %s (an external)\n", indent+next, nb, n.Interface)
			default:
				fmt.Fprintf(b, "%s%sneeds %s:\n", indent+next, nb, n.Interface)
				writeCandidates(b, n.Candidates, indent+next+nn, shown)
			}
		}
	}
}

// bindList shows a binding's bound parameters: "DATABASE_URL ← url".
func bindList(bd *env.Bound) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(bd.Dependency.Bind)) {
		parts = append(parts, name+" ← "+bd.Dependency.Bind[name])
	}
	return strings.Join(parts, ", ")
}
