package catalog

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/Masterminds/semver/v3"
)

// TestBuildsNewestFirst checks the order of a product's builds: by SemVer, newest first, with
// the versions that do not parse last in file order; and that it is the order a stable sort
// parsing in every comparison gives, for shuffled builds.
func TestBuildsNewestFirst(t *testing.T) {
	versions := []string{"1.0.0", "bad", "2.0.0-rc.1", "2.0.0", "1.10.0", "v1.3.0", "1.2.0", "2.0.0-beta.2", "also-bad", "1.2.0+build.5"}
	order := func(p *Product) []string { return versionsOf(p.BuildsNewestFirst()) }
	p := &Product{}
	for _, v := range versions {
		p.Builds = append(p.Builds, Build{Version: v})
	}
	want := []string{"2.0.0", "2.0.0-rc.1", "2.0.0-beta.2", "1.10.0", "1.2.0", "1.2.0+build.5", "1.0.0", "bad", "v1.3.0", "also-bad"}
	if got := order(p); !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}

	reference := func(p *Product) []string {
		out := inFileOrder(p)
		slices.SortStableFunc(out, func(a, b *Build) int {
			va, errA := semver.StrictNewVersion(a.Version)
			vb, errB := semver.StrictNewVersion(b.Version)
			switch {
			case errA != nil && errB != nil:
				return 0
			case errA != nil:
				return 1
			case errB != nil:
				return -1
			}
			return vb.Compare(va)
		})
		return versionsOf(out)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		r.Shuffle(len(p.Builds), func(i, j int) { p.Builds[i], p.Builds[j] = p.Builds[j], p.Builds[i] })
		if got, want := order(p), reference(p); !slices.Equal(got, want) {
			t.Fatalf("builds %q: order %q, want %q", versionsOf(inFileOrder(p)), got, want)
		}
	}
}

// inFileOrder returns pointers to p's builds, in file order.
func inFileOrder(p *Product) []*Build {
	out := make([]*Build, len(p.Builds))
	for i := range p.Builds {
		out[i] = &p.Builds[i]
	}
	return out
}

func versionsOf(bs []*Build) []string {
	vs := make([]string, len(bs))
	for i, b := range bs {
		vs[i] = b.Version
	}
	return vs
}
