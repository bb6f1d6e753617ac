package badge

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/hspc/marketplace/catalog"
)

func TestBadges(t *testing.T) {
	hex := strings.Repeat("a", 64)
	p := &catalog.Product{ID: "acme/fhir", Builds: []catalog.Build{
		{Version: "1.0.0", Image: "r/x@sha256:" + strings.Repeat("b", 64)},
		{Version: "1.10.0", Image: "r/x@sha256:" + hex},
		{Version: "1.9.0", Image: "r/x@sha256:" + strings.Repeat("c", 64)},
	}}
	tests := []struct {
		name   string
		images map[string]catalog.ImageStatus
		want   string
		color  string
	}{
		{"verified", map[string]catalog.ImageStatus{"sha256:" + hex: {State: catalog.ImageVerified}}, "v1.10.0 ✓ signed", green},
		{"failed", map[string]catalog.ImageStatus{"sha256:" + hex: {State: catalog.ImageFailed}}, "v1.10.0 ✗ failed", red},
		{"unchecked", nil, "v1.10.0", grey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, value, color := Facts(p, tt.images)
			if value != tt.want || color != tt.color {
				t.Errorf("Facts = %q %s, want %q %s", value, color, tt.want, tt.color)
			}
			svg := SVG("hsp marketplace", value, color)
			if err := xml.Unmarshal(svg, new(struct{})); err != nil {
				t.Errorf("badge is not well-formed XML: %v", err)
			}
			if !strings.Contains(string(svg), value) {
				t.Errorf("badge does not show %q", value)
			}
		})
	}
	if svg := string(SVG("a<b", "&", grey)); strings.Contains(svg, "a<b") {
		t.Error("badge text not escaped")
	}
}
