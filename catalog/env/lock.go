package env

import (
	"fmt"

	"github.com/hspc/marketplace/catalog"
)

// Lock is an environment's lock file: the build each service resolved to, so that exporting
// again, on another machine or after the catalog publishes new builds, deploys the same images
// until the lock is updated (`marketplace env export --update`, `env add`).
type Lock struct {
	Services []Locked `toml:"services"`
}

// Locked is the build one service resolved to.
type Locked struct {
	Name       string `toml:"name"`                 // the service's instance name
	Product    string `toml:"product"`              // "<publisher>/<product>"
	Constraint string `toml:"constraint,omitempty"` // the version as the environment file gives it
	Version    string `toml:"version"`              // the build's version
	Image      string `toml:"image"`                // the build's image, pinned by digest
}

// Find returns the entry of the service with the instance name, or nil.
func (l *Lock) Find(name string) *Locked {
	if l == nil {
		return nil
	}
	for i := range l.Services {
		if l.Services[i].Name == name {
			return &l.Services[i]
		}
	}
	return nil
}

// LoadLock decodes a lock file (path is used in diagnostics), reporting every problem at once.
func LoadLock(path string, data []byte) (*Lock, catalog.Diagnostics) {
	l := &Lock{}
	f := catalog.DecodeTOML(path, data, l)
	if f.SyntaxFailed() {
		return nil, f.Diagnostics()
	}
	seen := map[string]bool{}
	for i, s := range l.Services {
		key := fmt.Sprintf("services[%d]", i)
		for _, field := range []struct{ name, value string }{{"name", s.Name}, {"product", s.Product}, {"version", s.Version}, {"image", s.Image}} {
			if field.value == "" {
				f.Errorf(key, "locked service needs %s", field.name)
			}
		}
		if seen[s.Name] && s.Name != "" {
			f.Errorf(key+".name", "service %q is locked twice", s.Name)
		}
		seen[s.Name] = true
	}
	return l, f.Diagnostics()
}

// lockHeader starts every lock file.
const lockHeader = "# The build each service of the environment resolved to, written by marketplace env.\n" +
	"# Commit it beside the environment file; `marketplace env export --update` resolves again.\n\n"

// Marshal encodes the lock as TOML.
func (l *Lock) Marshal() ([]byte, error) {
	data, err := catalog.MarshalTOML(l)
	if err != nil {
		return nil, err
	}
	return append([]byte(lockHeader), data...), nil
}
