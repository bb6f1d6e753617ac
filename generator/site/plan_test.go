package site

import (
	"slices"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/hspc/marketplace/catalog"
)

// TestParseVersion checks that parseVersion reads every version as semver.NewVersion does, the
// strict ones through StrictNewVersion and the others (which the validator refuses) leniently.
func TestParseVersion(t *testing.T) {
	for _, v := range []string{
		"1.2.3", "0.0.0", "10.20.30", "1.2.3-rc.1", "1.2.3-alpha.beta.1", "1.2.3+build.5",
		"1.2.3-rc.1+build.5", "v1.2.3", "1.2", "1", "01.2.3", "1.2.3.4", "", "latest", "1.2.3-",
	} {
		got, gotErr := parseVersion(v)
		want, wantErr := semver.NewVersion(v)
		if (gotErr == nil) != (wantErr == nil) {
			t.Errorf("%q: error %v, NewVersion's %v", v, gotErr, wantErr)
			continue
		}
		if gotErr == nil && (got.Compare(want) != 0 || got.Original() != want.Original() || got.Prerelease() != want.Prerelease() || got.Metadata() != want.Metadata()) {
			t.Errorf("%q: parsed as %s (pre %q, meta %q), NewVersion as %s (pre %q, meta %q)", v, got, got.Prerelease(), got.Metadata(), want, want.Prerelease(), want.Metadata())
		}
	}
	bs := []catalog.Build{{Version: "1.2.3"}, {Version: "v2.0.0"}, {Version: "1.10.0-rc.1"}, {Version: "junk"}, {Version: "1.10.0"}}
	var order []string
	for _, b := range sortBuilds(bs) {
		order = append(order, b.Version)
	}
	if want := []string{"v2.0.0", "1.10.0", "1.10.0-rc.1", "1.2.3", "junk"}; !slices.Equal(order, want) {
		t.Errorf("sortBuilds: %q, want %q", order, want)
	}
}

// TestFirstN checks firstN against a stable sort of the whole list, ties included.
func TestFirstN(t *testing.T) {
	type item struct{ k, order int }
	byK := func(a, b item) int { return a.k - b.k }
	var items []item
	for i := range 200 {
		items = append(items, item{k: (i * 37) % 23, order: i})
	}
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, byK)
	for _, n := range []int{0, 1, 5, 12, 23, 199, 200, 250} {
		got := firstN(items, n, byK)
		if want := sorted[:min(n, len(sorted))]; !slices.Equal(got, want) {
			t.Errorf("first %d: %v, want %v", n, got, want)
		}
	}
	if got := firstN([]item(nil), 3, byK); len(got) != 0 {
		t.Errorf("of nothing: %v", got)
	}
}
