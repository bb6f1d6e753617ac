// Command hugo is the Hugo side of the comparison in issue 14: it turns a catalog into an
// equivalent Hugo site — one content page per product with the same fields (name, summary,
// Markdown description, publisher, license, categories, tags, every build with its image,
// tasks, parameters, exposed interfaces, dependencies and notes), and list pages by publisher,
// category and interface, paginated by 100 like the marketplace site (no feeds: the marketplace
// writes one, Hugo would write one per list) — then runs `hugo`
// on it with GOMAXPROCS=2 and prints its wall time, CPU time and peak RSS as the kernel counted
// them for the child process. Writing the Hugo site is not timed.
//
// Hugo comes from PATH or -hugo: Debian's package (apt-get install hugo) or
// `go install github.com/gohugoio/hugo@VERSION`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hspc/marketplace/bench/internal/measure"
	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/synthetic"
)

func main() {
	products := flag.Int("products", 10000, "products in the synthetic catalog")
	dir := flag.String("dir", "", "catalog folder (default: kept in $MARKETPLACE_BENCH_CATALOGS, or a temporary one)")
	hugo := flag.String("hugo", "hugo", "the hugo `COMMAND`")
	runs := flag.Int("runs", 1, "how many times to run hugo (each into an empty folder); the best is printed too")
	flag.Parse()

	bin, err := exec.LookPath(*hugo)
	if err != nil {
		fail(fmt.Errorf("no Hugo (%v): apt-get install -y hugo, or go install github.com/gohugoio/hugo@latest", err))
	}
	version, _ := exec.Command(bin, "version").Output()

	root := *dir
	if root == "" {
		opts := synthetic.Options{Products: *products}
		if keep := synthetic.BenchDir(); keep != "" {
			root, err = synthetic.Cached(keep, opts)
			fail(err)
		} else {
			tmp, err := os.MkdirTemp("", "marketplace-hugo-catalog-")
			fail(err)
			defer os.RemoveAll(tmp)
			root = tmp
			fail(synthetic.Write(root, opts))
		}
	}
	c, ds := catalog.Check(os.DirFS(root))
	if ds.HasErrors() {
		fail(fmt.Errorf("the catalog has %d errors", ds.Errors()))
	}
	site, err := os.MkdirTemp("", "marketplace-hugo-site-")
	fail(err)
	defer os.RemoveAll(site)
	start := time.Now()
	fail(writeSite(site, c))
	fmt.Printf("hugo site      %d product pages written in %s; %s", len(c.Products), time.Since(start).Round(time.Millisecond), strings.TrimSpace(string(version))+"\n")

	var best time.Duration
	for i := range *runs {
		out := filepath.Join(site, fmt.Sprintf("public-%d", i))
		cmd := exec.Command(bin, "--quiet", "--source", site, "--destination", out)
		cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		t0 := time.Now()
		err := cmd.Run()
		wall := time.Since(t0)
		fail(err)
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		files := 0
		filepath.WalkDir(out, func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files++
			}
			return nil
		})
		fmt.Printf("hugo build     %d files: wall %s, CPU %s (%s per core on 2), peak RSS %d MiB, load average %s\n",
			files, wall.Round(time.Millisecond), cpu.Round(time.Millisecond), (cpu / 2).Round(time.Millisecond), ru.Maxrss>>10, measure.LoadAverage())
		measure.Figure(fmt.Sprintf("Hugo build, %d products (%s)", len(c.Products), hugoVersion(version)),
			measure.Figures{Wall: wall, CPU: cpu, PeakRSS: uint64(ru.Maxrss) << 10, Load: measure.LoadAverage()}.Short(), "")
		if best == 0 || wall < best {
			best = wall
		}
		os.RemoveAll(out)
	}
	if *runs > 1 {
		fmt.Printf("hugo best      wall %s of %d runs\n", best.Round(time.Millisecond), *runs)
	}
}

// writeSite writes the Hugo site for c into dir.
func writeSite(dir string, c *catalog.Catalog) error {
	files := map[string]string{
		"hugo.toml": `baseURL = "https://marketplace.example/"
title = "Synthetic marketplace"
relativeURLs = true
disableKinds = ["RSS"]
paginate = 100
[taxonomies]
  publisher = "publishers"
  category = "categories"
  interface = "interfaces"
`,
		"layouts/_default/baseof.html": `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ .Title }} · {{ .Site.Title }}</title><meta name="description" content="{{ .Params.summary }}">
<link rel="stylesheet" href="{{ "style.css" | relURL }}"></head>
<body><header><a href="{{ "" | relURL }}">{{ .Site.Title }}</a>
<nav><a href="{{ "products/" | relURL }}">Products</a> <a href="{{ "publishers/" | relURL }}">Publishers</a> <a href="{{ "categories/" | relURL }}">Categories</a> <a href="{{ "interfaces/" | relURL }}">Interfaces</a></nav></header>
<main>{{ block "main" . }}{{ end }}</main><footer>{{ .Site.Title }}</footer></body></html>
`,
		"layouts/_default/single.html": `{{ define "main" }}<article>
<h1>{{ .Title }}</h1>
<p class="lead">{{ .Params.summary }}</p>
<dl>
<dt>Publisher</dt><dd>{{ range .GetTerms "publishers" }}<a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a>{{ end }}</dd>
<dt>License</dt><dd>{{ .Params.license }}{{ if .Params.evaluation }} (evaluation){{ end }}</dd>
<dt>Categories</dt><dd>{{ range .GetTerms "categories" }}<a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a> {{ end }}</dd>
<dt>Tags</dt><dd>{{ delimit (.Params.tags | default slice) ", " }}</dd>
{{ with .Params.homepage }}<dt>Homepage</dt><dd><a href="{{ . }}">{{ . }}</a></dd>{{ end }}
{{ with .Params.identity }}<dt>Single sign-on</dt><dd>{{ delimit (.sso | default (slice "none")) ", " }}; tracing {{ .tracing }}</dd>{{ end }}
</dl>
<div class="description">{{ .Content }}</div>
{{ range .Params.builds }}<section class="build">
<h2>Version {{ .version }}{{ with .released }} <small>{{ . }}</small>{{ end }}</h2>
<p><code>{{ .image }}</code> on {{ delimit (.platforms | default (slice "linux/amd64")) ", " }}</p>
<table><tr><th>Task</th><th>Command</th><th>Instances</th><th>Memory</th><th>Ports</th></tr>
{{ range .tasks }}<tr><td>{{ .name }}</td><td><code>{{ delimit (.command | default slice) " " }}</code></td><td>{{ .min }}–{{ .max }}</td><td>{{ .memory }} MiB</td><td>{{ range .ports }}{{ .port }}/{{ .protocol }} {{ end }}</td></tr>{{ end }}
</table>
{{ with .parameters }}<table><tr><th>Variable</th><th>Description</th><th>Default</th></tr>
{{ range . }}<tr><td><code>{{ .name }}</code>{{ if .required }} (required){{ end }}{{ if .secret }} (secret){{ end }}</td><td>{{ .description }}</td><td>{{ .default }}</td></tr>{{ end }}
</table>{{ end }}
{{ with .exposes }}<h3>Exposes</h3><ul>{{ range . }}<li><a href="{{ (printf "interfaces/%s/" .interface) | relURL }}">{{ .interface }}</a> on {{ .task }}:{{ .port }}{{ .path }}</li>{{ end }}</ul>{{ end }}
{{ with .dependencies }}<h3>Depends on</h3><ul>{{ range . }}<li><a href="{{ (printf "interfaces/%s/" .interface) | relURL }}">{{ .interface }}</a>{{ range $k, $v := .bind }} {{ $k }}={{ $v }}{{ end }}</li>{{ end }}</ul>{{ end }}
{{ with .notes }}<div class="notes">{{ . | markdownify }}</div>{{ end }}
</section>{{ end }}
</article>{{ end }}
`,
		"layouts/_default/list.html": `{{ define "main" }}<h1>{{ .Title }}</h1>
{{ $pager := .Paginate .Pages }}
<ul class="products">{{ range $pager.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <span>{{ .Params.summary }}</span> <span>{{ .Params.license }}</span></li>{{ end }}</ul>
{{ template "_internal/pagination.html" . }}{{ end }}
`,
		"layouts/_default/terms.html": `{{ define "main" }}<h1>{{ .Title }}</h1>
<ul>{{ range .Data.Terms.Alphabetical }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.LinkTitle }}</a> ({{ .Count }})</li>{{ end }}</ul>{{ end }}
`,
		"layouts/index.html": `{{ define "main" }}<h1>{{ .Site.Title }}</h1>
<p>{{ len (where .Site.RegularPages "Section" "products") }} products.</p>
<ul>{{ range first 6 (where .Site.RegularPages "Section" "products").ByDate.Reverse }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}
`,
		"static/style.css": "body { font-family: system-ui, sans-serif; max-width: 70rem; margin: auto; }\n",
	}
	for name, data := range files {
		if err := write(filepath.Join(dir, name), []byte(data)); err != nil {
			return err
		}
	}
	for _, id := range c.SortedProductIDs() {
		p := c.Products[id]
		pub := c.Publishers[p.Publisher]
		pubName := p.Publisher
		if pub != nil && pub.Name != "" {
			pubName = pub.Name
		}
		var ifaces []string
		for _, b := range p.Builds {
			for _, e := range b.Exposes {
				ifaces = append(ifaces, e.Interface)
			}
		}
		builds, err := json.Marshal(p.Builds) // the model's own JSON: the same fields the API publishes
		if err != nil {
			return err
		}
		var buildList []any
		json.Unmarshal(builds, &buildList)
		front := map[string]any{
			"title": p.Name, "summary": p.Summary, "license": p.License, "evaluation": p.Evaluation,
			"homepage": p.Homepage, "support": p.Support, "source": p.Source,
			"publishers": []string{pubName}, "categories": p.Categories, "tags": p.Tags, "interfaces": ifaces,
			"identity": p.Identity, "builds": buildList,
		}
		if len(p.Builds) > 0 && p.Builds[0].Released != nil {
			front["date"] = p.Builds[0].Released.Format("2006-01-02")
		}
		fm, err := json.MarshalIndent(front, "", " ")
		if err != nil {
			return err
		}
		page := append(fm, '\n', '\n')
		page = append(page, p.Description...)
		if err := write(filepath.Join(dir, "content", "products", filepath.FromSlash(p.ID)+".md"), page); err != nil {
			return err
		}
	}
	return nil
}

func write(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "hugo bench:", err)
		os.Exit(1)
	}
}

// hugoVersion shortens `hugo version` to "hugo v0.111.3".
func hugoVersion(out []byte) string {
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return "hugo"
	}
	v, _, _ := strings.Cut(f[1], "+")
	return "hugo " + v
}
