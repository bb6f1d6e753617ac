package deploy

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/alessio/shellescape"

	"github.com/hspc/marketplace/catalog"
)

type composeFile struct {
	Name     string  `yaml:"name,omitempty"`
	Services mapping `yaml:"services"`
	Volumes  mapping `yaml:"volumes,omitempty"`
}

type composeService struct {
	Image           string         `yaml:"image"`
	Platform        string         `yaml:"platform"`
	Entrypoint      []string       `yaml:"entrypoint,omitempty"`
	Profiles        []string       `yaml:"profiles,omitempty"`
	Environment     mapping        `yaml:"environment,omitempty"`
	DependsOn       []string       `yaml:"depends_on,omitempty"`
	Ports           []composePort  `yaml:"ports,omitempty"`
	Volumes         []composeMount `yaml:"volumes,omitempty"`
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

type composeMount struct {
	Type   string `yaml:"type"`
	Source string `yaml:"source"`
	Target string `yaml:"target"`
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
	return compose(nil, "", p, b, env)
}

// compose is Compose for a manifest saved as file (see RenderFile).
func compose(w io.Writer, file string, p *catalog.Product, b *catalog.Build, env map[string]string) ([]byte, error) {
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

	set := s.composeServices(composePlan{
		serviceName: func(task string) string { return task },
		volumeName:  func(task string, i int) string { return task + "-" + volumeName(i) },
		environment: environment,
	})
	where := func(prm catalog.Parameter) string {
		if prm.Secret {
			return " (secret)"
		}
		return ""
	}
	notes := [][]string{
		append([]string{
			"Run with: docker compose -f " + shellescape.Quote(fileOr(file, "compose", p, b)) + " up -d",
			"Values shown as ${NAME:?required} or ${NAME:-} come from the shell or from a .env file beside",
			"this file, so secrets need not be written here; Compose stops and names any required one missing.",
		}, set.notes()...),
		set.volumeNotes,
		set.scaleNotes,
		set.smokeNotes,
	}

	return render(w, func(out []byte) ([]byte, error) {
		out = s.header(out, "Compose file", "compose", where, notes...)
		out, err := appendDocument(out, &composeFile{Services: set.services, Volumes: set.volumes})
		if err != nil {
			return nil, fmt.Errorf("encoding the compose file: %w", err)
		}
		return out, nil
	})
}

// escapeCompose keeps Compose from interpolating a literal value: "$" is written "$$".
func escapeCompose(v string) string { return strings.ReplaceAll(v, "$", "$$") }

// composePlan says how composeServices names things and what every task's container gets.
type composePlan struct {
	serviceName func(task string) string
	volumeName  func(task string, i int) string
	environment mapping
	dependsOn   []string
}

// composeSet is what composeServices makes: services, named volumes and notes for the header.
type composeSet struct {
	services, volumes                   mapping
	platform, firstPort                 string
	volumeNotes, scaleNotes, smokeNotes []string
}

// composeServices returns a service per task and the smoke test as a service in a profile,
// started only on demand; a named volume per persistent volume, a tmpfs per scratch volume.
func (s *source) composeServices(plan composePlan) composeSet {
	b := s.build
	set := composeSet{platform: "linux/amd64"}
	if !slices.Contains(b.PlatformsOrDefault(), set.platform) {
		set.platform = "linux/386"
	}
	service := func(t *catalog.Task, command []string) composeService {
		memory := strconv.Itoa(t.MemoryMiB()) + "M" // Compose's M is MiB
		svc := composeService{
			Image:           s.image(),
			Platform:        set.platform,
			Entrypoint:      escapeComposeList(command),
			Environment:     plan.environment,
			DependsOn:       plan.dependsOn,
			Deploy:          &composeDeploy{Resources: composeResources{Limits: composeMemory{memory}, Reservations: composeMemory{memory}}},
			Restart:         "unless-stopped",
			StopGracePeriod: strconv.Itoa(t.StopSeconds()) + "s",
			ReadOnly:        true,
			Tmpfs:           []string{"/tmp"},
			CapDrop:         []string{"ALL"},
			SecurityOpt:     []string{"no-new-privileges:true"},
		}
		for i, v := range t.Volumes {
			if v.IsPersistent() {
				svc.Volumes = append(svc.Volumes, composeMount{Type: "volume", Source: plan.volumeName(t.Name, i), Target: v.Path})
			} else {
				svc.Tmpfs = append(svc.Tmpfs, v.Path)
			}
		}
		return svc
	}

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
			if set.firstPort == "" {
				set.firstPort = fmt.Sprintf("%s %d", plan.serviceName(t.Name), pt.Port)
			}
		}
		for vi, v := range t.Volumes {
			if v.IsPersistent() {
				set.volumes.add(plan.volumeName(t.Name, vi), map[string]string{})
			}
		}
		if t.HasPersistentVolume() {
			set.volumeNotes = append(set.volumeNotes, fmt.Sprintf("%s keeps its data in named volumes: %s; `docker compose down` keeps them (add -v to delete them).",
				plan.serviceName(t.Name), persistentPaths(t)))
		}
		set.services.add(plan.serviceName(t.Name), svc)
	}

	if st := b.SmokeTest; st != nil {
		t := b.Task(st.Task)
		target := s.smokeTarget(t, plan.serviceName(t.Name))
		svc := service(t, target.expand(st.Command))
		svc.Volumes = nil // the smoke test reaches the task; it has no business with its data
		if vars := target.env(); len(vars) > 0 {
			env := slices.Clone(plan.environment)
			for _, kv := range vars {
				env.add(kv[0], kv[1])
			}
			svc.Environment = env
		}
		svc.DependsOn = nil
		svc.Profiles = []string{s.smoke}
		svc.Restart = "no"
		name := plan.serviceName(s.smoke)
		set.services.add(name, svc)
		run := fmt.Sprintf("docker compose run --rm %s", name)
		if st.Timeout > 0 {
			run = fmt.Sprintf("timeout %d %s", st.Timeout, run)
		}
		set.smokeNotes = []string{
			fmt.Sprintf("Smoke test (rule 4): service %s runs %s on the image of task %s.", name, strings.Join(st.Command, " "), st.Task),
		}
		if target.host != "" {
			set.smokeNotes = append(set.smokeNotes, fmt.Sprintf("It reaches the task's service: SMOKE_HOST=%s, SMOKE_PORT=%d.", target.host, target.port))
		}
		set.smokeNotes = append(set.smokeNotes,
			"It belongs to a profile, so `up` leaves it out; once the tasks are up, run it with",
			"  "+run,
		)
	}

	for _, t := range b.Tasks {
		if t.MinInstances() == 0 {
			name := plan.serviceName(t.Name)
			set.scaleNotes = append(set.scaleNotes, fmt.Sprintf("%s starts with 0 instances: docker compose up -d --scale %s=N   # N at most %d", name, name, t.MaxInstances()))
		}
	}
	return set
}

// notes explains what every service gets, in the header.
func (set composeSet) notes() []string {
	return []string{
		"Each task starts with its minimum instances (rules 5, 6; scale with --scale TASK=N up to the",
		"maximum), reserves and limits its memory (rule 10), runs as " + set.platform + " (rule 11),",
		"gets stop_timeout to stop (rule 13), and has a read-only root file system with a tmpfs at /tmp",
		"(rule 16: logs go to stdout).",
		"Ports are published on ports the host picks, because a fixed host port cannot be shared by",
		"several instances and may clash with other services; put your TLS proxy in front (rule 9) and",
		"find a port with: docker compose port " + cmp.Or(set.firstPort, "TASK PORT"),
		"No healthcheck is set: images need not contain curl or wget, so the image's own HEALTHCHECK,",
		"if any, applies (rule 15).",
	}
}

// escapeComposeList escapes every element with escapeCompose.
func escapeComposeList(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = escapeCompose(v)
	}
	return out
}
