package catalog

import (
	"testing"
)

// TestLoadSharesRepeatedValues: the builds of a product share the command and ports of a task
// whose memory changed, and the optional numbers are one pointer per value; what the product
// says is unchanged.
func TestLoadSharesRepeatedValues(t *testing.T) {
	const src = `
name = "P"
[[builds]]
version = "2"
  [[builds.tasks]]
  name = "web"
  command = ["/bin/p", "serve"]
  min = 2
  memory = 512
  ports = [{ port = 8080, protocol = "http" }]
[[builds]]
version = "1"
  [[builds.tasks]]
  name = "web"
  command = ["/bin/p", "serve"]
  min = 2
  memory = 256
  ports = [{ port = 8080, protocol = "http" }]
  [[builds.tasks]]
  name = "worker"
  command = ["/bin/p", "work"]
  min = 1
  memory = 512
`
	p := &Product{}
	in := newInterner()
	if problems := decodeFileInterned([]byte(src), p, in); len(problems) != 0 {
		t.Fatalf("problems: %+v", problems)
	}
	shareBuilds(p)
	a, b := p.Builds[0].Tasks[0], p.Builds[1].Tasks[0]
	if *a.Memory != 512 || *b.Memory != 256 || *p.Builds[1].Tasks[1].Memory != 512 || *b.Min != 2 || *p.Builds[1].Tasks[1].Min != 1 {
		t.Fatalf("values changed: %+v %+v", a, b)
	}
	if &a.Command[0] != &b.Command[0] || &a.Ports[0] != &b.Ports[0] {
		t.Error("the unchanged command and ports of web are held twice")
	}
	if &p.Builds[1].Tasks[1].Command[0] == &a.Command[0] {
		t.Error("the worker's command was shared with web's")
	}
	if a.Min != b.Min || a.Memory != p.Builds[1].Tasks[1].Memory {
		t.Error("equal numbers are held apart")
	}
	if a.Memory == b.Memory {
		t.Error("512 and 256 share a pointer")
	}
}
