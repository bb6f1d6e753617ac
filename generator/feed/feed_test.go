package feed

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hspc/marketplace/catalog"
)

func TestFeed(t *testing.T) {
	c, ds := catalog.Check(os.DirFS("../.."))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	day := func(d int) time.Time { return time.Date(2026, 1, d, 10, 0, 0, 0, time.UTC) }
	fhir := c.Products["acme/fhir"]
	h := &catalog.History{Products: map[string]*catalog.ProductHistory{
		"acme/fhir": {Added: day(2), Builds: map[string]time.Time{}},
	}}
	for _, b := range fhir.Builds {
		h.Products["acme/fhir"].Builds[b.Version] = day(3)
	}
	data, err := Page(c, h).Render()
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	// JSON Feed 1.1: version, title, items with id and content; dates in RFC 3339.
	if f["version"] != "https://jsonfeed.org/version/1.1" || f["title"] != c.Index.Catalog.Name {
		t.Errorf("feed header = %v %v", f["version"], f["title"])
	}
	if !strings.HasPrefix(f["feed_url"].(string), "https://marketplace.example.org/") {
		t.Errorf("feed_url = %v", f["feed_url"])
	}
	items := f["items"].([]any)
	if len(items) == 0 {
		t.Fatal("no items")
	}
	var prev time.Time
	ids := map[string]bool{}
	for i, it := range items {
		m := it.(map[string]any)
		id, _ := m["id"].(string)
		if id == "" || ids[id] {
			t.Errorf("item %d: missing or repeated id %q", i, id)
		}
		ids[id] = true
		if m["content_text"] == nil || m["content_text"] == "" {
			t.Errorf("item %s has no content", id)
		}
		when, err := time.Parse(time.RFC3339, m["date_published"].(string))
		if err != nil {
			t.Errorf("item %s: %v", id, err)
		}
		if i > 0 && when.After(prev) {
			t.Errorf("item %s is newer than the one before it", id)
		}
		prev = when
	}
	if !ids["product:acme/fhir"] {
		t.Error("no product_added item for acme/fhir")
	}
	// Builds elsewhere have released dates in the example, so they appear without history.
	if !ids["build:openhealth/postgres@"+c.Products["openhealth/postgres"].Builds[0].Version] && c.Products["openhealth/postgres"].Builds[0].Released != nil {
		t.Error("released build missing from the feed")
	}
	// Stable: same inputs, same bytes.
	again, _ := Page(c, h).Render()
	if string(again) != string(data) {
		t.Error("feed is not deterministic")
	}
}
