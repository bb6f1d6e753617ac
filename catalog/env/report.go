package env

// Report is a Resolution as plain data, for JSON (`marketplace env deps --json`) and for other
// implementations of the rules (a resolver in the browser) to be compared with this one. Secret
// values never appear: a value shows each secret as ${KEY}.
type Report struct {
	Environment string          `json:"environment"`
	Platform    string          `json:"platform"`
	Namespace   string          `json:"namespace,omitempty"`
	Services    []ServiceReport `json:"services"`
	Externals   []string        `json:"externals"`
	Missing     []MissingReport `json:"missing"`
	Secrets     []SecretReport  `json:"secrets"`
	Notes       []string        `json:"notes"`
}

// ServiceReport is one resolved service.
type ServiceReport struct {
	Name       string        `json:"name"`
	Product    string        `json:"product"`
	Version    string        `json:"version"`
	Image      string        `json:"image"`
	Constraint string        `json:"constraint,omitempty"`
	Locked     bool          `json:"locked,omitempty"`
	Params     []ParamReport `json:"params"`
	Needs      []NeedReport  `json:"needs"`
}

// ParamReport is one parameter and where its value comes from.
type ParamReport struct {
	Name      string `json:"name"`
	Source    string `json:"source"`
	Value     string `json:"value"` // secrets as ${KEY}
	SecretKey string `json:"secret_key,omitempty"`
}

// NeedReport is one dependency and what provides it ("" when nothing does).
type NeedReport struct {
	Interface  string            `json:"interface"`
	Required   bool              `json:"required"`
	Provider   string            `json:"provider,omitempty"`
	External   bool              `json:"external,omitempty"`
	Serves     string            `json:"serves,omitempty"` // the interface the provider offers, when a substitute
	Explicit   bool              `json:"explicit,omitempty"`
	Properties map[string]string `json:"properties,omitempty"` // bound properties, secrets as ${KEY}
}

// MissingReport is a required dependency nothing provides, with the catalog products that could.
type MissingReport struct {
	Service    string   `json:"service"`
	Interface  string   `json:"interface"`
	Candidates []string `json:"candidates"` // product IDs
}

// SecretReport is one key of the environment's Secret.
type SecretReport struct {
	Key   string   `json:"key"`
	Kind  string   `json:"kind"`            // given, generated or derived
	Value string   `json:"value,omitempty"` // a derived secret's formula over other secrets, as ${KEY}
	Usage []string `json:"usage,omitempty"`
}

// Report returns the resolution as plain data.
func (r *Resolution) Report() Report {
	rep := Report{
		Environment: r.Env.Name, Platform: r.Env.PlatformOrDefault(), Namespace: r.Env.Namespace,
		Services: []ServiceReport{}, Externals: []string{}, Missing: []MissingReport{}, Secrets: []SecretReport{}, Notes: r.Notes,
	}
	if rep.Notes == nil {
		rep.Notes = []string{}
	}
	for _, s := range r.Services {
		sr := ServiceReport{Name: s.Name, Product: s.Product.ID, Version: s.Build.Version, Image: s.Build.Image,
			Constraint: s.Constraint, Locked: s.Locked, Params: []ParamReport{}, Needs: []NeedReport{}}
		for _, p := range s.Params {
			pr := ParamReport{Name: p.Name, Source: p.Source, Value: p.Value.String(), SecretKey: p.SecretKey}
			if prm := s.Build.Parameter(p.Name); prm != nil && prm.Secret && !p.Value.HasSecret() && pr.Value != "" {
				pr.Value = "(hidden)" // a secret written as text in the environment file
			}
			sr.Params = append(sr.Params, pr)
		}
		for _, b := range s.Needs {
			nr := NeedReport{Interface: b.Dependency.Interface, Required: b.Dependency.IsRequired(), Provider: b.ProviderName(),
				External: b.External != nil, Explicit: b.Explicit}
			if b.ProviderName() != "" && b.Interface != b.Dependency.Interface {
				nr.Serves = b.Interface
			}
			if len(b.Properties) > 0 {
				nr.Properties = map[string]string{}
				for k, v := range b.Properties {
					nr.Properties[k] = v.String()
				}
			}
			sr.Needs = append(sr.Needs, nr)
		}
		rep.Services = append(rep.Services, sr)
	}
	for _, x := range r.Externals {
		rep.Externals = append(rep.Externals, x.Name)
	}
	for _, m := range r.Missing {
		mr := MissingReport{Service: m.Consumer.Name, Interface: m.Dependency.Interface, Candidates: []string{}}
		for _, c := range m.Candidates {
			mr.Candidates = append(mr.Candidates, c.Product.ID)
		}
		rep.Missing = append(rep.Missing, mr)
	}
	for _, s := range r.Secrets {
		sr := SecretReport{Key: s.Key, Kind: s.Kind.String(), Usage: s.Usage}
		if s.Kind == Derived && s.Value.HasSecret() {
			sr.Value = s.Value.String()
		}
		rep.Secrets = append(rep.Secrets, sr)
	}
	return rep
}
