package catalog

import "time"

// History is what the catalog's Git history says about its products: when each was added and
// last changed, when each build was first published, and the commits that touched it. The Git
// package derives it; outputs only read it. A catalog outside Git has an empty History, and
// outputs fall back to the builds' released dates.
type History struct {
	Commit   string                     `json:"commit,omitempty"` // the commit the catalog was read at
	Date     time.Time                  `json:"date,omitzero"`    // its commit date
	Products map[string]*ProductHistory `json:"products,omitempty"`
}

// ProductHistory is the history of one product file.
type ProductHistory struct {
	Added   time.Time            `json:"added,omitzero"`   // the first commit that has the file
	Changed time.Time            `json:"changed,omitzero"` // the last commit that changed it
	Builds  map[string]time.Time `json:"builds,omitempty"` // version → first commit that has it
	Log     []Commit             `json:"log,omitempty"`    // commits that changed the file, newest first
}

// Commit is one commit in a product's changelog.
type Commit struct {
	Hash    string    `json:"hash"`
	Date    time.Time `json:"date"`
	Author  string    `json:"author,omitempty"`
	Subject string    `json:"subject"`
}

// Product returns the history of a product, or nil when there is none.
func (h *History) Product(id string) *ProductHistory {
	if h == nil || h.Products == nil {
		return nil
	}
	return h.Products[id]
}

// Published returns when build b of product p was published: its released date when the file
// gives one (SPEC §4), else the date Git first saw the version, else the zero time.
func (h *History) Published(p *Product, b *Build) time.Time {
	if b.Released != nil {
		return *b.Released
	}
	if ph := h.Product(p.ID); ph != nil {
		return ph.Builds[b.Version]
	}
	return time.Time{}
}
