package site

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hspc/marketplace/catalog/synthetic"
)

// TestActiveSVG checks activeSVG against the regular expression it stands for, over the
// synthetic catalog's logos, hand-made hostile and harmless files, and random mixes of the
// pieces the expression looks for.
func TestActiveSVG(t *testing.T) {
	cases := []string{
		`<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>`,
		`<svg><script>alert(1)</script></svg>`, `<svg>< SCRIPT>`, "<svg>\t<\nscript", `<svg onload=alert(1)>`,
		`<svg ONLOAD = "x">`, "<svg\fonclick\r=x>", `<svg on=x>`, `<svg one="two">`, `<svg data-onload=x>`,
		`<svg><a href="JavaScript:x">`, `<svg><foreignObject>`, `<!DOCTYPE svg [<!ENTITY x "y">]>`,
		`<svg>onload=x</svg>`, `<svg> onload x =</svg>`, `<svg> onl0ad=x</svg>`, `<svg>ſcript</svg>`,
		`<ſcript>`, `<svg onſ=x>`, `<svg>é onclick=1</svg>`, "", "<", " on", " ona", " ona =",
	}
	for _, f := range synthetic.MapFS(synthetic.Options{Products: 40, BuildsPerProduct: 1}) {
		cases = append(cases, string(f.Data))
	}
	pieces := []string{"<", " ", "\t", "script", "on", "load", "=", "x", "!entity", "javascript", ":", "é", "foreignobject", "Sc", "ON", "\n", "1"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		cases = append(cases, b.String())
	}
	for _, c := range cases {
		if got, want := activeSVG([]byte(c)), svgActive.MatchString(strings.ToLower(c)); got != want {
			t.Errorf("activeSVG(%q) = %v, the regular expression says %v", c, got, want)
		}
	}
}
