package deploy

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hspc/marketplace/catalog"
)

type composeFile struct {
	Services mapping `yaml:"services"`
}

type composeService struct {
	Image           string         `yaml:"image"`
	Platform        string         `yaml:"platform"`
	Entrypoint      []string       `yaml:"entrypoint,omitempty"`
	Profiles        []string       `yaml:"profiles,omitempty"`
	Environment     mapping        `yaml:"environment,omitempty"`
	Ports           []composePort  `yaml:"ports,omitempty"`
	Deploy          *composeDeploy `yaml:"deploy"`
	Restart         string         `yaml:"restart"`
	StopGracePeriod string         `yaml:"stop_grace_period"`
	ReadOnly        bool           `yaml:"read_only"`
	Tmpfs           []string       `yaml:"tmpfs"`
	CapDrop         []string       `yaml:"cap_drop"`
	SecurityOpt     []string       `yaml:"security_opt"`
}

type composePort struct {
	Target   int    `yaml:"target"`
	Protocol string `yaml:"protocol"`
}

type composeDeploy struct {
	Replicas  *int             `yaml:"replicas,omitempty"`
	Resources composeResources `yaml:"resources"`
}

type composeResources struct {
	Limits       composeMemory `yaml:"limits"`
	Reservations composeMemory `yaml:"reservations"`
}

type composeMemory struct {
	Memory string `yaml:"memory"`
}

// Compose returns build b of product p as a Compose file (the Compose Specification: only
// `services`, no `version`): a service per task, and the smoke test as a service in the
// "smoke-test" profile, started only on demand. env gives parameter values; it is checked with
// CheckEnv. A required parameter without a value, and a secret not given in env, become
// ${NAME:?required} and ${NAME:-} interpolations, so secrets come from the shell or a .env file
// rather than from this file, and `docker compose up` stops with the name of a missing value.
func Compose(p *catalog.Product, b *catalog.Build, env map[string]string) ([]byte, error) {
	s, err := newSource(p, b, env)
	if err != nil {
		return nil, err
	}

	var environment mapping
	for _, prm := range b.Parameters {
		v, given := env[prm.Name]
		switch {
		case given && !(prm.Required && v == ""):
			environment.add(prm.Name, escapeCompose(v))
		case prm.Required && valueOf(prm, env) == "":
			environment.add(prm.Name, "${"+prm.Name+":?required}")
		case prm.Secret:
			environment.add(prm.Name, "${"+prm.Name+":-}")
		default:
			environment.add(prm.Name, escapeCompose(valueOf(prm, env)))
		}
	}

	platform := "linux/amd64"
	if !slices.Contains(b.PlatformsOrDefault(), platform) {
		platform = "linux/386"
	}
	service := func(t *catalog.Task, command []string) composeService {
		memory := strconv.Itoa(t.MemoryMiB()) + "M" // Compose's M is MiB
		return composeService{
			Image:           s.image,
			Platform:        platform,
			Entrypoint:      command,
			Environment:     environment,
			Deploy:          &composeDeploy{Resources: composeResources{Limits: composeMemory{memory}, Reservations: composeMemory{memory}}},
			Restart:         "unless-stopped",
			StopGracePeriod: strconv.Itoa(t.StopSeconds()) + "s",
			ReadOnly:        true,
			Tmpfs:           []string{"/tmp"},
			CapDrop:         []string{"ALL"},
			SecurityOpt:     []string{"no-new-privileges:true"},
		}
	}

	var services mapping
	var firstPort string
	for i := range b.Tasks {
		t := &b.Tasks[i]
		svc := service(t, t.Command)
		replicas := t.MinInstances()
		svc.Deploy.Replicas = &replicas
		for _, pt := range t.Ports {
			proto := "tcp"
			if protocolOf(pt) == "udp" {
				proto = "udp"
			}
			svc.Ports = append(svc.Ports, composePort{Target: pt.Port, Protocol: proto})
			if firstPort == "" {
				firstPort = fmt.Sprintf("%s %d", t.Name, pt.Port)
			}
		}
		services.add(t.Name, svc)
	}

	var smokeNotes []string
	if st := b.SmokeTest; st != nil {
		svc := service(b.Task(st.Task), st.Command)
		svc.Profiles = []string{s.smoke}
		svc.Restart = "no"
		services.add(s.smoke, svc)
		run := fmt.Sprintf("docker compose run --rm %s", s.smoke)
		if st.Timeout > 0 {
			run = fmt.Sprintf("timeout %d %s", st.Timeout, run)
		}
		smokeNotes = []string{
			fmt.Sprintf("Smoke test (rule 4): service %s runs %s on the image of task %s.", s.smoke, strings.Join(st.Command, " "), st.Task),
			"It belongs to a profile, so `up` leaves it out; once the tasks are up, run it with",
			"  " + run,
		}
	}

	var scaleNotes []string
	for _, t := range b.Tasks {
		if t.MinInstances() == 0 {
			scaleNotes = append(scaleNotes, fmt.Sprintf("%s starts with 0 instances: docker compose up -d --scale %s=N   # N at most %d", t.Name, t.Name, t.MaxInstances()))
		}
	}

	where := func(prm catalog.Parameter) string {
		if prm.Secret {
			return " (secret)"
		}
		return ""
	}
	notes := [][]string{
		{
			"Run with: docker compose -f compose.yaml up -d",
			"Values shown as ${NAME:?required} or ${NAME:-} come from the shell or from a .env file beside",
			"this file, so secrets need not be written here; Compose stops and names any required one missing.",
			"Each task starts with its minimum instances (rules 5, 6; scale with --scale TASK=N up to the",
			"maximum), reserves and limits its memory (rule 10), runs as " + platform + " (rule 11),",
			"gets stop_timeout to stop (rule 13), and has a read-only root file system with a tmpfs at /tmp",
			"(rule 16: logs go to stdout).",
			"Ports are published on ports the host picks, because a fixed host port cannot be shared by",
			"several instances and may clash with other services; put your TLS proxy in front (rule 9) and",
			"find a port with: docker compose port " + cmp.Or(firstPort, "TASK PORT"),
			"No healthcheck is set: images need not contain curl or wget, so the image's own HEALTHCHECK,",
			"if any, applies (rule 15).",
		},
		scaleNotes,
		smokeNotes,
	}

	return render(func(out []byte) ([]byte, error) {
		out = s.header(out, "Compose file", "compose", where, notes...)
		out, err := appendDocument(out, &composeFile{Services: services})
		if err != nil {
			return nil, fmt.Errorf("encoding the compose file: %w", err)
		}
		return out, nil
	})
}

// escapeCompose keeps Compose from interpolating a literal value: "$" is written "$$".
func escapeCompose(v string) string { return strings.ReplaceAll(v, "$", "$$") }
