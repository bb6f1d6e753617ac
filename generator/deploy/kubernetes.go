package deploy

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/alessio/shellescape"

	"github.com/hspc/marketplace/catalog"
)

// The Kubernetes objects below are the subset of the API the manifests use, with fields in the
// order `kubectl get -o yaml` shows them, so the output reads like any other manifest.

type object struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Type       string     `yaml:"type,omitempty"`       // Secret
	Data       mapping    `yaml:"data,omitempty"`       // ConfigMap
	StringData mapping    `yaml:"stringData,omitempty"` // Secret
	Spec       any        `yaml:"spec,omitempty"`
}

type objectMeta struct {
	Name        string            `yaml:"name,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

type deploymentSpec struct {
	Replicas int             `yaml:"replicas"`
	Selector labelSelector   `yaml:"selector"`
	Template podTemplateSpec `yaml:"template"`
}

type statefulSetSpec struct {
	ServiceName          string                  `yaml:"serviceName"`
	Replicas             int                     `yaml:"replicas"`
	Selector             labelSelector           `yaml:"selector"`
	Template             podTemplateSpec         `yaml:"template"`
	VolumeClaimTemplates []persistentVolumeClaim `yaml:"volumeClaimTemplates"`
}

type persistentVolumeClaim struct {
	Metadata objectMeta `yaml:"metadata"`
	Spec     pvcSpec    `yaml:"spec"`
}

type pvcSpec struct {
	AccessModes []string     `yaml:"accessModes"`
	Resources   pvcResources `yaml:"resources"`
}

type pvcResources struct {
	Requests map[string]string `yaml:"requests"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type podTemplateSpec struct {
	Metadata objectMeta `yaml:"metadata"`
	Spec     podSpec    `yaml:"spec"`
}

type podSpec struct {
	SecurityContext               *podSecurityContext `yaml:"securityContext,omitempty"`
	AutomountServiceAccountToken  bool                `yaml:"automountServiceAccountToken"`
	RestartPolicy                 string              `yaml:"restartPolicy,omitempty"`
	TerminationGracePeriodSeconds int                 `yaml:"terminationGracePeriodSeconds"`
	NodeSelector                  map[string]string   `yaml:"nodeSelector,omitempty"`
	Affinity                      *affinity           `yaml:"affinity,omitempty"`
	Containers                    []container         `yaml:"containers"`
	Volumes                       []volume            `yaml:"volumes,omitempty"`
}

type podSecurityContext struct {
	FSGroup             int    `yaml:"fsGroup"`
	FSGroupChangePolicy string `yaml:"fsGroupChangePolicy"`
}

type affinity struct {
	NodeAffinity nodeAffinity `yaml:"nodeAffinity"`
}

type nodeAffinity struct {
	Required nodeSelector `yaml:"requiredDuringSchedulingIgnoredDuringExecution"`
}

type nodeSelector struct {
	Terms []nodeSelectorTerm `yaml:"nodeSelectorTerms"`
}

type nodeSelectorTerm struct {
	MatchExpressions []matchExpression `yaml:"matchExpressions"`
}

type matchExpression struct {
	Key      string   `yaml:"key"`
	Operator string   `yaml:"operator"`
	Values   []string `yaml:"values"`
}

type container struct {
	Name            string          `yaml:"name"`
	Image           string          `yaml:"image"`
	Command         []string        `yaml:"command,omitempty"`
	Ports           []containerPort `yaml:"ports,omitempty"`
	Env             []envVar        `yaml:"env,omitempty"`
	Resources       resources       `yaml:"resources"`
	StartupProbe    *probe          `yaml:"startupProbe,omitempty"`
	ReadinessProbe  *probe          `yaml:"readinessProbe,omitempty"`
	LivenessProbe   *probe          `yaml:"livenessProbe,omitempty"`
	SecurityContext securityContext `yaml:"securityContext"`
	VolumeMounts    []volumeMount   `yaml:"volumeMounts,omitempty"`
}

type containerPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
	Protocol      string `yaml:"protocol"`
}

type envVar struct {
	Name      string        `yaml:"name"`
	Value     string        `yaml:"value,omitempty"`
	ValueFrom *envVarSource `yaml:"valueFrom,omitempty"`
}

type envVarSource struct {
	ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef,omitempty"`
	SecretKeyRef    *keyRef `yaml:"secretKeyRef,omitempty"`
}

type keyRef struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
}

type resources struct {
	Requests map[string]string `yaml:"requests"`
	Limits   map[string]string `yaml:"limits"`
}

type probe struct {
	HTTPGet          *httpGetAction   `yaml:"httpGet,omitempty"`
	TCPSocket        *tcpSocketAction `yaml:"tcpSocket,omitempty"`
	PeriodSeconds    int              `yaml:"periodSeconds"`
	TimeoutSeconds   int              `yaml:"timeoutSeconds"`
	FailureThreshold int              `yaml:"failureThreshold"`
}

type httpGetAction struct {
	Path string `yaml:"path"`
	Port int    `yaml:"port"`
}

type tcpSocketAction struct {
	Port int `yaml:"port"`
}

type securityContext struct {
	RunAsNonRoot             bool           `yaml:"runAsNonRoot"`
	ReadOnlyRootFilesystem   bool           `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation bool           `yaml:"allowPrivilegeEscalation"`
	Capabilities             capabilities   `yaml:"capabilities"`
	SeccompProfile           seccompProfile `yaml:"seccompProfile"`
}

type capabilities struct {
	Drop []string `yaml:"drop"`
}

type seccompProfile struct {
	Type string `yaml:"type"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
}

type volume struct {
	Name     string   `yaml:"name"`
	EmptyDir emptyDir `yaml:"emptyDir"`
}

type emptyDir struct {
	SizeLimit string `yaml:"sizeLimit,omitempty"`
}

type serviceSpec struct {
	Selector map[string]string `yaml:"selector"`
	Ports    []servicePort     `yaml:"ports"`
}

type servicePort struct {
	Name       string `yaml:"name"`
	Port       int    `yaml:"port"`
	TargetPort string `yaml:"targetPort"`
	Protocol   string `yaml:"protocol"`
}

type hpaSpec struct {
	ScaleTargetRef crossVersionRef `yaml:"scaleTargetRef"`
	MinReplicas    int             `yaml:"minReplicas"`
	MaxReplicas    int             `yaml:"maxReplicas"`
	Metrics        []metricSpec    `yaml:"metrics"`
}

type crossVersionRef struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Name       string `yaml:"name"`
}

type metricSpec struct {
	Type     string         `yaml:"type"`
	Resource resourceMetric `yaml:"resource"`
}

type resourceMetric struct {
	Name   string       `yaml:"name"`
	Target metricTarget `yaml:"target"`
}

type metricTarget struct {
	Type               string `yaml:"type"`
	AverageUtilization int    `yaml:"averageUtilization"`
}

type jobSpec struct {
	Suspend               bool            `yaml:"suspend"`
	BackoffLimit          int             `yaml:"backoffLimit"`
	ActiveDeadlineSeconds int             `yaml:"activeDeadlineSeconds,omitempty"`
	Template              podTemplateSpec `yaml:"template"`
}

// Tuning of the generated objects, explained in the header of every manifest.
const (
	// hpaMemoryUtilization is the HorizontalPodAutoscaler's target: memory is the only resource
	// whose request the catalog declares (rule 10), and CPU utilization needs a CPU request.
	hpaMemoryUtilization = 80
	// startupFailures × startupPeriod is how long a new pod may take before its first healthy
	// answer: long enough for the schema migrations rule 12 makes images run on start.
	startupPeriod   = 10
	startupFailures = 60
	// tmpSizeLimit bounds the scratch space mounted at /tmp beside the read-only root.
	tmpSizeLimit = "256Mi"
)

// Kubernetes returns build b of product p as Kubernetes objects in one multi-document YAML file:
// a ConfigMap and a Secret holding the parameters, then per task a Deployment (a StatefulSet
// for a task with persistent volumes), a Service (tasks with ports) and a
// HorizontalPodAutoscaler (tasks whose instance range allows scaling), and the smoke test as a
// suspended Job. env gives parameter values; it is checked with CheckEnv. Parameters without a
// value get their default, or "" with a note in the header when required.
func Kubernetes(p *catalog.Product, b *catalog.Build, env map[string]string) ([]byte, error) {
	return kubernetes(nil, "", p, b, env)
}

// kubernetes is Kubernetes for a manifest saved as file (see RenderFile).
func kubernetes(w io.Writer, file string, p *catalog.Product, b *catalog.Build, env map[string]string) ([]byte, error) {
	s, err := newSource(p, b, env)
	if err != nil {
		return nil, err
	}
	configName, secretName := s.base+"-config", s.base+"-secrets"

	var config, secret mapping
	for _, prm := range b.Parameters {
		if prm.Secret {
			secret.add(prm.Name, valueOf(prm, env))
		} else {
			config.add(prm.Name, valueOf(prm, env))
		}
	}
	var envVars []envVar
	for _, prm := range b.Parameters {
		ref := &keyRef{Name: configName, Key: prm.Name}
		if prm.Secret {
			ref.Name = secretName
			envVars = append(envVars, envVar{Name: prm.Name, ValueFrom: &envVarSource{SecretKeyRef: ref}})
		} else {
			envVars = append(envVars, envVar{Name: prm.Name, ValueFrom: &envVarSource{ConfigMapKeyRef: ref}})
		}
	}

	var docs []object
	if len(config) > 0 {
		docs = append(docs, object{APIVersion: "v1", Kind: "ConfigMap",
			Metadata: objectMeta{Name: configName, Labels: s.labels("")}, Data: config})
	}
	if len(secret) > 0 {
		docs = append(docs, object{APIVersion: "v1", Kind: "Secret",
			Metadata: objectMeta{Name: secretName, Labels: s.labels("")}, Type: "Opaque", StringData: secret})
	}
	work := s.workloads(envVars, s.configChecksum())
	docs = append(docs, work.docs...)

	where := func(prm catalog.Parameter) string {
		if prm.Secret {
			return " (Secret " + secretName + ")"
		}
		return " (ConfigMap " + configName + ")"
	}
	notes := [][]string{
		append([]string{"Apply with: kubectl apply -f " + shellescape.Quote(fileOr(file, "kubernetes", p, b)) + "   (add -n NAMESPACE to choose the namespace)"}, kubernetesNotes()...),
		work.volumeNotes,
		work.scaleNotes,
		work.smokeNotes,
	}
	return render(w, func(out []byte) ([]byte, error) {
		out = s.header(out, "Kubernetes manifests", "kubernetes", where, notes...)
		return appendObjects(out, docs)
	})
}

// kubernetesNotes explains what every workload gets, in the header of every Kubernetes file.
func kubernetesNotes() []string {
	return []string{
		"Every workload reserves and limits its task's memory (rule 10), runs on amd64 nodes (rule 11),",
		"gets stop_timeout to stop (rule 13), and runs as non-root on a read-only root file system, with",
		"an emptyDir of " + tmpSizeLimit + " at /tmp for scratch files (rule 16: logs go to stdout).",
		fmt.Sprintf("Probes use the task's health path, or a TCP connection; the startup probe allows %d s", startupPeriod*startupFailures),
		"for first-start migrations (rule 12). HorizontalPodAutoscalers keep each task within its",
		fmt.Sprintf("instance range (rules 5, 6), scaling on memory use (%d%% of the request: the only declared resource).", hpaMemoryUtilization),
	}
}

// appendObjects appends each object as a YAML document of its own.
func appendObjects(out []byte, docs []object) ([]byte, error) {
	for i := range docs {
		d := &docs[i]
		out = append(out, "---\n"...)
		var err error
		if out, err = appendDocument(out, d); err != nil {
			return nil, fmt.Errorf("encoding %s %s: %w", d.Kind, d.Metadata.Name, err)
		}
	}
	return out, nil
}

// workloadSet is what workloads makes: the objects, and the header notes about them.
type workloadSet struct {
	docs                                []object
	volumeNotes, scaleNotes, smokeNotes []string
}

// workloads returns the objects that run the build's tasks, each container reading its
// parameters through envVars: per task a Deployment (a StatefulSet when the task has persistent
// volumes), a Service when it has ports, a HorizontalPodAutoscaler when it can scale; then the
// smoke test as a suspended Job that reaches the Service of its task.
func (s *source) workloads(envVars []envVar, checksum string) workloadSet {
	var w workloadSet
	b := s.build
	for i := range b.Tasks {
		t := &b.Tasks[i]
		name := s.taskName(t.Name)
		pod := s.podSpec(t, t.Name, t.Command, envVars)
		c := &pod.Containers[0]
		for _, pt := range t.Ports {
			c.Ports = append(c.Ports, containerPort{Name: portName(pt), ContainerPort: pt.Port, Protocol: k8sProtocol(pt)})
		}
		c.StartupProbe, c.ReadinessProbe, c.LivenessProbe = probes(t)
		template := podTemplateSpec{
			Metadata: objectMeta{Labels: s.labels(t.Name), Annotations: map[string]string{"checksum/config": checksum}},
			Spec:     pod,
		}
		kind := "Deployment"
		if t.HasPersistentVolume() {
			kind = "StatefulSet"
			var claims []persistentVolumeClaim
			for vi, v := range t.Volumes {
				if v.IsPersistent() {
					claims = append(claims, persistentVolumeClaim{
						Metadata: objectMeta{Name: volumeName(vi)},
						Spec: pvcSpec{AccessModes: []string{"ReadWriteOnce"},
							Resources: pvcResources{Requests: map[string]string{"storage": strconv.Itoa(v.Size) + "Mi"}}},
					})
				}
			}
			w.docs = append(w.docs, object{APIVersion: "apps/v1", Kind: kind,
				Metadata: objectMeta{Name: name, Labels: s.labels(t.Name)},
				Spec: statefulSetSpec{
					ServiceName:          name,
					Replicas:             t.MinInstances(),
					Selector:             labelSelector{MatchLabels: s.selector(t.Name)},
					Template:             template,
					VolumeClaimTemplates: claims,
				}})
			w.volumeNotes = append(w.volumeNotes, fmt.Sprintf("Task %s keeps its data: StatefulSet %s claims a PersistentVolume per instance for %s", t.Name, name, persistentPaths(t)),
				"(the cluster's default StorageClass; deleting the StatefulSet keeps the claims and the data).")
		} else {
			w.docs = append(w.docs, object{APIVersion: "apps/v1", Kind: kind,
				Metadata: objectMeta{Name: name, Labels: s.labels(t.Name)},
				Spec: deploymentSpec{
					Replicas: t.MinInstances(),
					Selector: labelSelector{MatchLabels: s.selector(t.Name)},
					Template: template,
				}})
		}
		if len(t.Ports) > 0 {
			svc := serviceSpec{Selector: s.selector(t.Name)}
			for _, pt := range t.Ports {
				svc.Ports = append(svc.Ports, servicePort{Name: portName(pt), Port: pt.Port, TargetPort: portName(pt), Protocol: k8sProtocol(pt)})
			}
			w.docs = append(w.docs, object{APIVersion: "v1", Kind: "Service",
				Metadata: objectMeta{Name: name, Labels: s.labels(t.Name)}, Spec: svc})
		}
		switch {
		case t.MaxInstances() > t.MinInstances() && t.MinInstances() >= 1:
			w.docs = append(w.docs, object{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler",
				Metadata: objectMeta{Name: name, Labels: s.labels(t.Name)},
				Spec: hpaSpec{
					ScaleTargetRef: crossVersionRef{APIVersion: "apps/v1", Kind: kind, Name: name},
					MinReplicas:    t.MinInstances(),
					MaxReplicas:    t.MaxInstances(),
					Metrics: []metricSpec{{Type: "Resource", Resource: resourceMetric{Name: "memory",
						Target: metricTarget{Type: "Utilization", AverageUtilization: hpaMemoryUtilization}}}},
				}})
		case t.MaxInstances() > t.MinInstances():
			w.scaleNotes = append(w.scaleNotes, fmt.Sprintf("  %s starts with 0 instances and has no HorizontalPodAutoscaler (it cannot scale to 0):", t.Name),
				fmt.Sprintf("    kubectl scale %s/%s --replicas=N   # N at most %d", strings.ToLower(kind), name, t.MaxInstances()))
		}
	}

	if st := b.SmokeTest; st != nil {
		t := b.Task(st.Task)
		name := s.taskName(s.smoke)
		target := s.smokeTarget(t, s.taskName(t.Name))
		smokeEnv := slices.Clone(envVars)
		for _, kv := range target.env() {
			smokeEnv = append(smokeEnv, envVar{Name: kv[0], Value: kv[1]})
		}
		// Kubernetes expands $(SMOKE_HOST) in the command from the container's environment.
		pod := s.podSpec(t, s.smoke, st.Command, smokeEnv)
		pod.RestartPolicy = "Never"
		w.docs = append(w.docs, object{APIVersion: "batch/v1", Kind: "Job",
			Metadata: objectMeta{Name: name, Labels: s.labels(s.smoke)},
			Spec: jobSpec{
				Suspend:               true,
				BackoffLimit:          0,
				ActiveDeadlineSeconds: st.Timeout,
				Template:              podTemplateSpec{Metadata: objectMeta{Labels: s.labels(s.smoke)}, Spec: pod},
			}})
		w.smokeNotes = []string{
			fmt.Sprintf("Smoke test (rule 4): Job %s runs %s on the image of task %s.", name, strings.Join(st.Command, " "), st.Task),
		}
		if target.host != "" {
			w.smokeNotes = append(w.smokeNotes, fmt.Sprintf("It reaches the task through its Service: SMOKE_HOST=%s, SMOKE_PORT=%d.", target.host, target.port))
		}
		w.smokeNotes = append(w.smokeNotes,
			"It is created suspended; once the tasks are ready, run it and read its result with",
			fmt.Sprintf("  kubectl patch job/%s --type=merge -p '{\"spec\":{\"suspend\":false}}'", name),
			fmt.Sprintf("  kubectl wait --for=condition=complete job/%s --timeout=%ds && kubectl logs job/%s", name, max(st.Timeout, 60), name),
			"To run it again, delete the Job and apply again.",
		)
	}
	return w
}

// persistentPaths lists the mount paths of a task's persistent volumes with their sizes.
func persistentPaths(t *catalog.Task) string {
	var parts []string
	for _, v := range t.Volumes {
		if v.IsPersistent() {
			parts = append(parts, fmt.Sprintf("%s (%d MiB)", v.Path, v.Size))
		}
	}
	return strings.Join(parts, ", ")
}

// volumeName names a task's volume by its position: "data-0", "data-1".
func volumeName(i int) string { return "data-" + strconv.Itoa(i) }

// podSpec returns the pod of a task's Deployment, or of the smoke-test Job (named container,
// running command on the task's image, resources and scheduling).
func (s *source) podSpec(t *catalog.Task, containerName string, command []string, env []envVar) podSpec {
	memory := strconv.Itoa(t.MemoryMiB()) + "Mi"
	pod := podSpec{
		AutomountServiceAccountToken:  false, // health services have no business with the Kubernetes API
		TerminationGracePeriodSeconds: t.StopSeconds(),
		Containers: []container{{
			Name:    containerName,
			Image:   s.image(),
			Command: command,
			Env:     env,
			// Requests equal to limits: the memory is reserved on the node, not overcommitted (rule 10).
			Resources: resources{Requests: map[string]string{"memory": memory}, Limits: map[string]string{"memory": memory}},
			SecurityContext: securityContext{
				RunAsNonRoot:             true,
				ReadOnlyRootFilesystem:   true,
				AllowPrivilegeEscalation: false,
				Capabilities:             capabilities{Drop: []string{"ALL"}},
				SeccompProfile:           seccompProfile{Type: "RuntimeDefault"},
			},
			VolumeMounts: []volumeMount{{Name: "tmp", MountPath: "/tmp"}},
		}},
		Volumes: []volume{{Name: "tmp", EmptyDir: emptyDir{SizeLimit: tmpSizeLimit}}},
	}
	// The declared group owns persistent volumes, so the non-root user can write them; only the
	// volume's root is changed when it is not already right (a large database stays fast to mount).
	if t.FSGroup != nil && t.HasPersistentVolume() && containerName == t.Name {
		pod.SecurityContext = &podSecurityContext{FSGroup: *t.FSGroup, FSGroupChangePolicy: "OnRootMismatch"}
	}
	// Scratch volumes are emptyDirs; persistent ones come from the StatefulSet's
	// volumeClaimTemplates, which the smoke test's Job does not have.
	for i, v := range t.Volumes {
		if v.IsPersistent() && containerName != t.Name {
			continue
		}
		pod.Containers[0].VolumeMounts = append(pod.Containers[0].VolumeMounts, volumeMount{Name: volumeName(i), MountPath: v.Path})
		if !v.IsPersistent() {
			pod.Volumes = append(pod.Volumes, volume{Name: volumeName(i), EmptyDir: emptyDir{SizeLimit: strconv.Itoa(v.Size) + "Mi"}})
		}
	}
	// An image for linux/386 runs on amd64 nodes too; anything else is not x86 (rule 11).
	if slices.Contains(s.build.PlatformsOrDefault(), "linux/386") {
		pod.Affinity = &affinity{NodeAffinity: nodeAffinity{Required: nodeSelector{Terms: []nodeSelectorTerm{{
			MatchExpressions: []matchExpression{{Key: "kubernetes.io/arch", Operator: "In", Values: []string{"386", "amd64"}}},
		}}}}}
	} else {
		pod.NodeSelector = map[string]string{"kubernetes.io/arch": "amd64"}
	}
	return pod
}

// probes returns the startup, readiness and liveness probes of a task: HTTP GET on the health
// path of a port that declares one, else a TCP connection to its first TCP-based port (http
// without a health path, tcp, grpc). A task with no such port (a worker, or UDP only) has none.
func probes(t *catalog.Task) (startup, readiness, liveness *probe) {
	var action probe
	for _, pt := range t.Ports {
		if pt.Health != "" && protocolOf(pt) == "http" {
			action.HTTPGet = &httpGetAction{Path: pt.Health, Port: pt.Port}
			break
		}
	}
	if action.HTTPGet == nil {
		for _, pt := range t.Ports {
			if protocolOf(pt) != "udp" {
				action.TCPSocket = &tcpSocketAction{Port: pt.Port}
				break
			}
		}
		if action.TCPSocket == nil {
			return nil, nil, nil
		}
	}
	with := func(period, timeout, failures int) *probe {
		p := action
		p.PeriodSeconds, p.TimeoutSeconds, p.FailureThreshold = period, timeout, failures
		return &p
	}
	return with(startupPeriod, 3, startupFailures), with(10, 3, 3), with(20, 5, 3)
}

// labels returns the recommended app.kubernetes.io labels of the product's objects; component is
// the task ("" for objects the tasks share). The objects of a component share one map, which
// nothing modifies.
func (s *source) labels(component string) map[string]string {
	if l, ok := s.labelSets[component]; ok {
		return l
	}
	if s.labelSets == nil {
		s.labelSets = map[string]map[string]string{}
	}
	l := map[string]string{
		"app.kubernetes.io/name":       labelValue(s.slug),
		"app.kubernetes.io/instance":   s.base,
		"app.kubernetes.io/version":    labelValue(s.build.Version),
		"app.kubernetes.io/part-of":    s.partOf,
		"app.kubernetes.io/managed-by": "marketplace",
	}
	if component != "" {
		l["app.kubernetes.io/component"] = labelValue(component)
	}
	s.labelSets[component] = l
	return l
}

// selector returns the labels that pick a task's pods. It leaves out the version, which changes
// between builds, because a Deployment's selector cannot change.
func (s *source) selector(component string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/instance":  s.base,
		"app.kubernetes.io/component": labelValue(component),
	}
}

// portName names a port by protocol and number, "http-8080": unique within a task (ports are),
// at most 15 characters, and recognised by service meshes that read the protocol from the name.
func portName(p catalog.Port) string {
	return protocolOf(p) + "-" + strconv.Itoa(p.Port)
}

func k8sProtocol(p catalog.Port) string {
	if protocolOf(p) == "udp" {
		return "UDP"
	}
	return "TCP"
}
