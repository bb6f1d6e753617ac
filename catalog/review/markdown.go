package review

import (
	"fmt"
	"io"
	"strings"
)

// SummaryMarker starts every summary comment, so that a workflow finds and updates its own
// comment instead of adding one per push.
const SummaryMarker = "<!-- marketplace:summary -->"

// AutoApproveLine is the machine-readable verdict at the end of a summary, followed by "true" or
// "false" and " -->".
const AutoApproveLine = "<!-- marketplace:auto-approve="

// Limits that keep a summary well under GitHub's 65 536 characters per comment.
const (
	productBudget = 40000 // characters of product sections
	maxListed     = 100   // diagnostics, catalog files and re-checked products listed
)

// WriteMarkdown writes the pull-request comment: per product what changed, the checks, who may
// approve, and whether the change may be approved automatically. base names what the change was
// compared with, e.g. "main".
func (r *Result) WriteMarkdown(w io.Writer, base string) error {
	var b strings.Builder
	b.WriteString(SummaryMarker + "\n")
	b.WriteString("## Marketplace review\n\n")
	by := ""
	if r.Author != "" {
		by = " by @" + r.Author
	}
	fmt.Fprintf(&b, "Compared with `%s`%s: %s", base, by, plural(len(r.Products), "product"))
	if len(r.Catalog) > 0 {
		fmt.Fprintf(&b, ", %s outside products/", plural(len(r.Catalog), "file"))
	}
	b.WriteString(" changed.\n")

	// GitHub refuses comments over 65 536 characters: a huge pull request shows what fits, and
	// the job log and annotations have the rest.
	for i, pc := range r.Products {
		if b.Len() > productBudget {
			fmt.Fprintf(&b, "\n… and %s more, not shown here.\n", plural(len(r.Products)-i, "product"))
			break
		}
		writeProduct(&b, pc)
	}
	if len(r.Catalog) > 0 {
		b.WriteString("\n### Catalog files\n\n")
		for i, f := range r.Catalog {
			if i == maxListed {
				fmt.Fprintf(&b, "- … and %d more\n", len(r.Catalog)-i)
				break
			}
			fmt.Fprintf(&b, "- `%s`\n", f)
		}
		if len(r.Interfaces) > 0 {
			fmt.Fprintf(&b, "- ⚠️ interfaces changed: %s\n", codeList(r.Interfaces))
		}
		if r.PolicyChanged {
			b.WriteString("- ⚠️ `[policy]` changed: every product is re-checked\n")
		}
	}
	if len(r.Affected) > 0 {
		affected := r.Affected
		more := ""
		if len(affected) > maxListed {
			affected, more = affected[:maxListed], fmt.Sprintf(" and %d more", len(r.Affected)-maxListed)
		}
		fmt.Fprintf(&b, "\nAlso re-checked, because of a change they depend on: %s%s\n", codeList(affected), more)
	}

	b.WriteString("\n### Checks\n\n")
	errs, warns := r.Diagnostics.Errors(), len(r.Diagnostics)-r.Diagnostics.Errors()
	if len(r.Diagnostics) == 0 {
		b.WriteString("✅ No problems found.\n")
	} else {
		mark := "⚠️"
		if errs > 0 {
			mark = "❌"
		}
		var lines strings.Builder
		for i, d := range r.Diagnostics {
			if i == maxListed {
				fmt.Fprintf(&lines, "… and %d more: see the annotations of the check\n", len(r.Diagnostics)-i)
				break
			}
			lines.WriteString(d.String() + "\n")
		}
		// Messages quote the pull request's values: a fence longer than any run of backticks in
		// them keeps them inside the code block.
		fence := strings.Repeat("`", max(3, longestRun(lines.String(), '`')+1))
		fmt.Fprintf(&b, "%s %s, %s:\n\n%stext\n%s%s\n", mark, plural(errs, "error"), plural(warns, "warning"), fence, lines.String(), fence)
	}

	b.WriteString("\n### Approval\n\n")
	fmt.Fprintf(&b, "Who may approve: %s\n\n", r.approvers())
	if r.Eligible {
		b.WriteString("✅ **Eligible for automatic approval**: a maintainer adds builds with verified signatures, and nothing else.\n")
	} else {
		b.WriteString("Not eligible for automatic approval:\n")
		for _, why := range r.Reasons {
			fmt.Fprintf(&b, "- %s\n", why)
		}
	}
	fmt.Fprintf(&b, "\n%s%t -->\n", AutoApproveLine, r.Eligible)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeProduct(b *strings.Builder, pc *ProductChange) {
	title := map[Kind]string{Added: "new product", Removed: "removed", Modified: "changed", Renamed: "renamed from `" + pc.From + "`"}[pc.Kind]
	fmt.Fprintf(b, "\n### `%s`: %s\n\n", pc.ID, title)
	for _, nb := range pc.NewBuilds {
		fmt.Fprintf(b, "- **New build %s**: `%s`, digest `%s`, %s\n", nb.Version, nb.Image, nb.Digest, signature(nb.Signature))
	}
	for _, v := range pc.RemovedBuilds {
		fmt.Fprintf(b, "- ⚠️ Removed build %s\n", v)
	}
	for _, f := range pc.Fields {
		mark := ""
		if strings.HasPrefix(f.Key, "builds[") {
			mark = "⚠️ " // published builds should not change
		}
		fmt.Fprintf(b, "- %s`%s`: %s → %s\n", mark, f.Key, inline(f.Old), inline(f.New))
	}
	for _, s := range pc.Breaking {
		fmt.Fprintf(b, "- ⚠️ **Deployments**: %s\n", s)
	}
	if pc.Kind != Removed { // a removed product's assets go with it
		for _, a := range pc.Assets {
			fmt.Fprintf(b, "- asset `%s`\n", a)
		}
	}
	fmt.Fprintf(b, "- Maintainers: %s\n", handles(pc.Maintainers, "none"))
}

func signature(s *Signature) string {
	switch {
	case s == nil:
		return "signature not verified in this run"
	case s.Verified:
		return "signed by `" + s.Signer + "` ✅"
	default:
		return "❌ signature does not verify: " + s.Error
	}
}

// inline puts a value in a code span, using a longer fence when it holds backticks.
func inline(v string) string {
	if v == "(none)" {
		return "_none_"
	}
	if strings.Contains(v, "`") {
		return "`` " + v + " ``"
	}
	return "`" + v + "`"
}

func codeList(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = "`" + s + "`"
	}
	return strings.Join(out, ", ")
}

// WriteText writes a short plain-text account of the review: what changed, who may approve it,
// and whether it may be approved automatically.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, pc := range r.Products {
		var what []string
		if pc.From != "" {
			what = append(what, "from "+pc.From)
		}
		for _, nb := range pc.NewBuilds {
			what = append(what, fmt.Sprintf("new build %s (%s)", nb.Version, nb.Digest))
		}
		for _, v := range pc.RemovedBuilds {
			what = append(what, "removed build "+v)
		}
		for _, f := range pc.Fields {
			what = append(what, fmt.Sprintf("%s: %s → %s", f.Key, f.Old, f.New))
		}
		what = append(what, pc.Breaking...)
		if len(pc.Assets) > 0 && pc.Kind != Removed {
			what = append(what, plural(len(pc.Assets), "asset file")+" changed")
		}
		fmt.Fprintf(&b, "%s: %s", pc.ID, pc.Kind)
		if len(what) > 0 {
			b.WriteString(": " + strings.ReplaceAll(strings.Join(what, "; "), "`", ""))
		}
		b.WriteString("\n")
	}
	for _, f := range r.Catalog {
		fmt.Fprintf(&b, "%s: changed\n", f)
	}
	if len(r.Affected) > 0 {
		fmt.Fprintf(&b, "re-checked: %s\n", strings.Join(r.Affected, ", "))
	}
	fmt.Fprintf(&b, "may approve: %s\n", r.approvers())
	if r.Eligible {
		b.WriteString("automatic approval: eligible\n")
	} else {
		fmt.Fprintf(&b, "automatic approval: not eligible: %s\n", strings.Join(r.Reasons, "; "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// longestRun returns the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := range len(s) {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

func (r *Result) approvers() string {
	if len(r.Files) == 0 {
		return "nothing changed"
	}
	return handles(r.Approvers, "nobody is listed (the catalog declares no owners)")
}
