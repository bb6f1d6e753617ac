package generator

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/hspc/marketplace/catalog/env"
	"github.com/hspc/marketplace/generator/internal/browsertest"
	"github.com/hspc/marketplace/generator/serve"
)

// TestEnvironmentBuilderInBrowser walks the seed's FHIR use case through the built site's
// environment builder in headless Chromium, served as a static host with a Content-Security-
// Policy that forbids inline scripts and eval: from the Acme FHIR Server's page, "Add to an
// environment"; the builder offers PostgreSQL for its postgresql dependency and shows oidc and
// smtp as required and unmet, with the catalog's candidates and an external option; add
// PostgreSQL, bind the hospital's OpenID Connect provider and SMTP relay as externals, set a
// parameter, then read the environment file the page offers for download and check that
// catalog/env loads and resolves it without an error, bound as chosen. It runs on a static
// host and under `marketplace serve` (with whatever headers serve sets).
func TestEnvironmentBuilderInBrowser(t *testing.T) {
	out := filepath.Join(t.TempDir(), "public")
	if res, err := Build(context.Background(), Options{Root: "..", Out: out, Verify: VerifyOffline}); err != nil {
		t.Fatalf("build: %v %v", err, res.Diagnostics)
	}
	t.Run("static host", func(t *testing.T) {
		files := http.FileServer(http.Dir(out))
		builderFlow(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "script-src 'self'; object-src 'none'; base-uri 'none'")
			files.ServeHTTP(w, r)
		}))
	})
	t.Run("marketplace serve", func(t *testing.T) {
		s, err := serve.New(out, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		builderFlow(t, s.Handler())
	})
}

func builderFlow(t *testing.T, h http.Handler) {
	ctx := browsertest.Start(t)
	srv := httptest.NewServer(h)
	defer srv.Close()

	var mu sync.Mutex
	var problems []string
	var suggested string
	saved := make(chan string, 1)
	downloads := t.TempDir()
	report := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				report("console error: %v", ev.Args)
			}
		case *runtime.EventExceptionThrown:
			report("exception: %s %v", ev.ExceptionDetails.Text, ev.ExceptionDetails.Exception)
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 && !strings.Contains(ev.Response.URL, "/api/search") {
				report("HTTP %d for %s", int(ev.Response.Status), ev.Response.URL)
			}
		case *network.EventLoadingFailed:
			if !ev.Canceled {
				report("request failed: %s", ev.ErrorText)
			}
		case *browser.EventDownloadWillBegin:
			mu.Lock()
			suggested = ev.SuggestedFilename
			mu.Unlock()
		case *browser.EventDownloadProgress:
			if ev.State == browser.DownloadProgressStateCompleted {
				select {
				case saved <- ev.GUID:
				default:
				}
			}
		}
	})
	shots := t.ArtifactDir()
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte
			if err := chromedp.FullScreenshot(&buf, 80).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".jpg"), buf, 0o644)
		})
	}
	const (
		fhir     = `#builder-services li[data-service="fhir"]`
		pgNeed   = fhir + ` li.need[data-interface="postgresql"]`
		oidcNeed = fhir + ` li.need[data-interface="oidc"]`
		smtpNeed = fhir + ` li.need[data-interface="smtp"]`
	)
	// typeInto types text into a field and leaves it with Tab, which commits it (change event).
	typeInto := func(sel, text string) chromedp.Action {
		return chromedp.SendKeys(sel, text+"\t", chromedp.ByQuery)
	}
	var addHref, builderURL, pgState, oidcState, smtpState string
	var pgOffers, oidcOffers, smtpOffers, oidcExternal, smtpExternal int
	err := chromedp.Run(ctx,
		network.Enable(),
		chromedp.Navigate(srv.URL+"/products/acme/fhir/index.html"),
		chromedp.WaitVisible("main h1", chromedp.ByQuery),
		chromedp.AttributeValue(`a[href*="builder/index.html?add="]`, "href", &addHref, nil, chromedp.ByQuery),
		chromedp.Click(`a[href*="builder/index.html?add="]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#builder[data-ready="true"]`, chromedp.ByQuery),
		chromedp.Location(&builderURL),
		chromedp.WaitVisible(pgNeed, chromedp.ByQuery),
		shot("builder-fhir"),
		chromedp.AttributeValue(pgNeed, "data-state", &pgState, nil, chromedp.ByQuery),
		chromedp.AttributeValue(oidcNeed, "data-state", &oidcState, nil, chromedp.ByQuery),
		chromedp.AttributeValue(smtpNeed, "data-state", &smtpState, nil, chromedp.ByQuery),
		chromedp.Evaluate(count(pgNeed+` button[data-add="openhealth/postgres"]`), &pgOffers),
		chromedp.Evaluate(count(oidcNeed+` button[data-add="meridian-systems/identity"]`), &oidcOffers),
		chromedp.Evaluate(count(smtpNeed+` button[data-add="openhealth/smtp-relay"]`), &smtpOffers),
		chromedp.Evaluate(count(oidcNeed+` button[data-external="oidc"]`), &oidcExternal),
		chromedp.Evaluate(count(smtpNeed+` button[data-external="smtp"]`), &smtpExternal),
	)
	if err != nil {
		t.Fatal(err)
	}
	if addHref != "../../../builder/index.html?add=acme%2ffhir" {
		t.Errorf("the product page's button links to %q", addHref)
	}
	if !strings.Contains(builderURL, "/builder/") || strings.Contains(builderURL, "add=") {
		t.Errorf("the builder is at %s; want the ?add= query dropped once added, so that a reload does not add again", builderURL)
	}
	if pgState != "missing" || oidcState != "missing" || smtpState != "missing" {
		t.Errorf("needs of fhir alone: postgresql %s, oidc %s, smtp %s; want all missing", pgState, oidcState, smtpState)
	}
	if pgOffers != 1 || oidcOffers != 1 || smtpOffers != 1 || oidcExternal != 1 || smtpExternal != 1 {
		t.Errorf("offers: PostgreSQL %d, identity for oidc %d, SMTP relay %d, external oidc %d, external smtp %d; want one each",
			pgOffers, oidcOffers, smtpOffers, oidcExternal, smtpExternal)
	}

	const (
		sso  = `#builder-externals li[data-external="oidc"]`
		mail = `#builder-externals li[data-external="smtp"]`
		db   = `#builder-services li[data-service="postgres"]`
	)
	var toml, downloaded, download, summary, errs string
	err = run(t, ctx,
		chromedp.Click(pgNeed+` button[data-add="openhealth/postgres"]`, chromedp.ByQuery),
		chromedp.WaitVisible(pgNeed+`[data-state="bound"]`, chromedp.ByQuery),
		chromedp.Click(oidcNeed+` button[data-external="oidc"]`, chromedp.ByQuery),
		chromedp.WaitVisible(sso, chromedp.ByQuery),
		typeInto(sso+` input[data-property="issuer"]`, "https://sso.hospital.example/realms/clinical"),
		typeInto(sso+` input[data-property="client_id"]`, "acme-fhir"),
		typeInto(sso+` input[data-property="client_secret"]`, "OIDC_CLIENT_SECRET"),
		chromedp.Click(smtpNeed+` button[data-external="smtp"]`, chromedp.ByQuery),
		chromedp.WaitVisible(mail, chromedp.ByQuery),
		chromedp.Click(mail+` input[data-secret="url"]`, chromedp.ByQuery),
		typeInto(mail+` input[data-property="url"]`, "SMTP_URL"),
		typeInto(mail+` input[data-property="from"]`, "fhir-noreply@hospital.example"),
		chromedp.Click(db+` details summary`, chromedp.ByQuery),
		typeInto(db+` input[data-param="POSTGRES_DB"]`, "fhir"),
		chromedp.WaitVisible(`#builder[data-errors="0"]`, chromedp.ByQuery),
		chromedp.WaitVisible(oidcNeed+`[data-state="bound"]`, chromedp.ByQuery),
		chromedp.WaitVisible(smtpNeed+`[data-state="bound"]`, chromedp.ByQuery),
		shot("builder-resolved"),
		chromedp.Text("#builder-summary", &summary, chromedp.ByQuery),
		chromedp.Text("#builder-toml", &toml, chromedp.ByQuery),
		chromedp.Text("#builder-problems", &errs, chromedp.ByQuery),
		// Download the file as a person would: click the link, and let the browser save it.
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllowAndName).WithDownloadPath(downloads).WithEventsEnabled(true),
		chromedp.Click("#builder-download", chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case guid := <-saved:
		data, err := os.ReadFile(filepath.Join(downloads, guid))
		if err != nil {
			t.Fatal(err)
		}
		downloaded = string(data)
	case <-time.After(30 * time.Second):
		t.Fatal("clicking Download saved no file")
	}
	mu.Lock()
	download = suggested
	mu.Unlock()
	if download != "environment.toml" {
		t.Errorf("the browser saves the file as %q", download)
	}
	if downloaded != toml {
		t.Errorf("the downloaded file differs from the file shown:\n%s\n---\n%s", downloaded, toml)
	}
	if !strings.HasPrefix(summary, "Resolves") {
		t.Errorf("summary %q; problems: %s", summary, errs)
	}
	t.Logf("the builder wrote:\n%s", downloaded)

	e, ds := env.Load("environment.toml", []byte(downloaded))
	if ds.HasErrors() {
		t.Fatalf("catalog/env does not load the builder's file: %v", ds)
	}
	res, ds := env.Resolve(checkedCatalog(t), e, nil, env.Options{})
	if ds.HasErrors() {
		t.Fatalf("catalog/env does not resolve the builder's file: %v", ds)
	}
	got := map[string]string{}
	for _, b := range res.Bindings {
		got[b.Consumer.Name+" "+b.Dependency.Interface] = b.ProviderName()
	}
	want := map[string]string{"fhir postgresql": "postgres", "fhir oidc": "oidc", "fhir smtp": "smtp"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("binding %s → %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if p := res.Service("postgres").Param("POSTGRES_DB"); p == nil || p.Value.String() != "fhir" {
		t.Errorf("POSTGRES_DB = %v, want fhir", p)
	}
	for name, want := range map[string]string{"OIDC_CLIENT_SECRET": "${OIDC_CLIENT_SECRET}", "SMTP_URL": "${SMTP_URL}", "OIDC_CLIENT_ID": "acme-fhir"} {
		if p := res.Service("fhir").Param(name); p == nil || p.Value.String() != want {
			t.Errorf("fhir's %s = %v, want %s", name, p, want)
		}
	}

	// Two databases make the relation ambiguous: the builder offers both, and the choice
	// becomes a [[bindings]] entry that catalog/env honours.
	var ambiguous string
	err = run(t, ctx,
		typeInto("#builder-product", "openhealth/postgres"),
		chromedp.Click(`#builder-add button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#builder-services li[data-service="postgres-2"]`, chromedp.ByQuery),
		chromedp.WaitVisible(pgNeed+`[data-state="ambiguous"]`, chromedp.ByQuery),
		chromedp.Text(pgNeed, &ambiguous, chromedp.ByQuery),
		chromedp.Click(pgNeed+` button[data-provider="postgres-2"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#builder[data-errors="0"]`, chromedp.ByQuery),
		// Renaming the chosen provider renames it in the binding too.
		chromedp.Evaluate(`document.querySelector('input[data-rename="postgres-2"]').select()`, nil),
		typeInto(`input[data-rename="postgres-2"]`, "db2"),
		chromedp.WaitVisible(`#builder-services li[data-service="db2"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#builder[data-errors="0"]`, chromedp.ByQuery),
		chromedp.Text("#builder-toml", &toml, chromedp.ByQuery),
		shot("builder-bound"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ambiguous, "Use postgres") || !strings.Contains(ambiguous, "Use postgres-2") {
		t.Errorf("ambiguous dependency shows %q", ambiguous)
	}
	e, ds = env.Load("environment.toml", []byte(toml))
	if ds.HasErrors() {
		t.Fatalf("%v", ds)
	}
	res, ds = env.Resolve(checkedCatalog(t), e, nil, env.Options{})
	if ds.HasErrors() {
		t.Fatalf("catalog/env does not resolve the builder's file with the binding: %v\n%s", ds, toml)
	}
	for _, b := range res.Bindings {
		if b.Consumer.Name == "fhir" && b.Dependency.Interface == "postgresql" && b.ProviderName() != "db2" {
			t.Errorf("fhir's postgresql bound to %s, want db2 (postgres-2 as chosen, renamed)", b.ProviderName())
		}
	}

	// The environment outlives the page: a reload shows the same file, and "Add to an
	// environment" on another product's page adds to it; "Start over" empties it.
	var reloaded, services string
	var after int
	err = run(t, ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(`#builder[data-ready="true"]`, chromedp.ByQuery),
		chromedp.Text("#builder-toml", &reloaded, chromedp.ByQuery),
		chromedp.Navigate(srv.URL+"/products/hspc/smart-demo/index.html"),
		chromedp.Click(`a[href*="builder/index.html?add="]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#builder[data-ready="true"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#builder-services li[data-service="smart-demo"]`, chromedp.ByQuery),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#builder-services > li')).map(function (li) { return li.dataset.service; }).join(' ')`, &services),
		chromedp.Click("#builder-reset", chromedp.ByQuery),
		chromedp.Evaluate(count("#builder-services > li"), &after),
	)
	if err != nil {
		t.Fatal(err)
	}
	if reloaded != toml {
		t.Errorf("after a reload the builder shows\n%s\nwant\n%s", reloaded, toml)
	}
	if services != "fhir postgres db2 smart-demo" {
		t.Errorf("services after adding smart-demo from its page: %q", services)
	}
	if after != 0 {
		t.Errorf("%d services after Start over", after)
	}

	// "with its dependencies" adds what `marketplace env add --with-deps` adds.
	var withDeps string
	err = run(t, ctx,
		typeInto("#builder-product", "acme/fhir"),
		chromedp.Click("#builder-with-deps", chromedp.ByQuery),
		chromedp.Click(`#builder-add button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#builder[data-busy="false"]`, chromedp.ByQuery),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#builder-services > li')).map(function (li) { return li.dataset.service; }).join(' ')`, &withDeps),
		shot("builder-with-deps"),
	)
	if err != nil {
		t.Fatal(err)
	}
	added, _, err := env.Additions(checkedCatalog(t), &env.Environment{}, "acme/fhir", "", true)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range added {
		names = append(names, s.Name)
	}
	if want := strings.Join(names, " "); withDeps != want || len(names) < 2 {
		t.Errorf("with its dependencies added %q; env add --with-deps adds %q", withDeps, want)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("screenshots in %s", shots)
}

// run runs the actions with a time limit, and on failure shows what the page says.
func run(t *testing.T, ctx context.Context, actions ...chromedp.Action) error {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Run(step, actions...)
	if err != nil {
		var problems, toml string
		chromedp.Run(ctx, chromedp.Text("#builder-problems", &problems, chromedp.ByQuery), chromedp.Text("#builder-toml", &toml, chromedp.ByQuery))
		t.Logf("the builder says: %s\n%s", problems, toml)
		var buf []byte
		if chromedp.Run(ctx, chromedp.FullScreenshot(&buf, 100)) == nil {
			os.WriteFile(filepath.Join(t.ArtifactDir(), "failure.png"), buf, 0o644)
		}
	}
	return err
}

// count returns a script counting the elements a selector matches.
func count(sel string) string {
	return fmt.Sprintf("document.querySelectorAll(%q).length", sel)
}
