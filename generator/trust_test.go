package generator

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hspc/marketplace/catalog"
	"github.com/hspc/marketplace/catalog/trust"
)

// The threat tests publish the example catalog with `build --sign`, serve the real output
// over HTTP, and read it through trust.Client, that is through go-tuf's own updater.

// t0 is the signing time of the first build; the timestamp policy is the default 7 days.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

type signedSite struct {
	t      *testing.T
	keyDir string
	keys   *trust.Keys
	out    string
	srv    *httptest.Server
	mu     sync.Mutex
	serve  string // the folder served; out unless a test serves a copy
}

func newSignedSite(t *testing.T, ko trust.KeyOptions) *signedSite {
	t.Helper()
	s := &signedSite{t: t, keyDir: filepath.Join(t.TempDir(), "keys"), out: filepath.Join(t.TempDir(), "public")}
	if ko.Now.IsZero() {
		ko.Now = t0
	}
	if _, err := trust.Init(s.keyDir, ko); err != nil {
		t.Fatal(err)
	}
	s.loadKeys()
	s.serve = s.out
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		dir := s.serve
		s.mu.Unlock()
		http.FileServer(http.Dir(dir)).ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *signedSite) loadKeys() {
	k, err := trust.LoadKeys(s.keyDir)
	if err != nil {
		s.t.Fatal(err)
	}
	s.keys = k
}

// build builds and signs the example catalog at the given time.
func (s *signedSite) build(now time.Time) *Result {
	s.t.Helper()
	res, err := Build(context.Background(), Options{Root: "..", Out: s.out, Verify: VerifyOffline, Sign: s.keys, SignTime: now})
	if err != nil {
		s.t.Fatal(err)
	}
	return res
}

// snapshotOut copies the current output (a week-old build an attacker keeps).
func (s *signedSite) snapshotOut() string {
	s.t.Helper()
	dst := filepath.Join(s.t.TempDir(), "old")
	if err := os.CopyFS(dst, os.DirFS(s.out)); err != nil {
		s.t.Fatal(err)
	}
	return dst
}

func (s *signedSite) serveDir(dir string) {
	s.mu.Lock()
	s.serve = dir
	s.mu.Unlock()
}

func (s *signedSite) rootJSON() []byte {
	data, err := os.ReadFile(filepath.Join(s.keyDir, "root.json"))
	if err != nil {
		s.t.Fatal(err)
	}
	return data
}

// client is an agent configured with the publisher's first root.
func (s *signedSite) client(ref time.Time) *trust.Client {
	return &trust.Client{MetadataURL: s.srv.URL + "/tuf/", LocalDir: s.t.TempDir(), TrustedRoot: s.rootJSON(), RefTime: ref}
}

func wantRefusal(t *testing.T, err error, kind trust.Kind) *trust.Refusal {
	t.Helper()
	var r *trust.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("got %v, want a %s refusal", err, kind)
	}
	if r.Kind != kind {
		t.Fatalf("got a %s refusal (%v), want %s", r.Kind, err, kind)
	}
	t.Logf("%v", err)
	return r
}

func TestSignedOutputAcceptedByGoTUF(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{Keys: 3, Threshold: 2})
	res := s.build(t0)
	if res.Signed == nil || res.Signed.Timestamp != 1 || res.Signed.Files == 0 {
		t.Fatalf("Signed = %+v, want version 1 over some files", res.Signed)
	}
	if want := t0.Add(7 * 24 * time.Hour); !res.Signed.Expires.Equal(want) {
		t.Errorf("timestamp expires %s, want %s (the 7-day default)", res.Signed.Expires, want)
	}
	c := s.client(t0.Add(time.Hour))
	snap, err := c.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	paths := snap.Paths()
	for _, want := range []string{"api/v1/catalog.json", "api/v1/search.json", "feed.json", "api/v1/products/hspc/fhir-api.json"} {
		if !contains(paths, want) {
			t.Errorf("the signed files do not include %s", want)
		}
	}
	for _, p := range paths {
		got, err := snap.Fetch(p)
		if err != nil {
			t.Fatalf("fetching %s: %v", p, err)
		}
		want, err := os.ReadFile(filepath.Join(s.out, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: the verified content differs from the output's file", p)
		}
	}
	// No private key in the output; key files readable by their owner only.
	filepath.WalkDir(s.out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, _ := os.ReadFile(p); bytes.Contains(data, []byte("PRIVATE KEY")) {
				t.Errorf("%s holds a private key", p)
			}
		}
		return err
	})
	filepath.WalkDir(s.keyDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".pem") {
			if info, _ := d.Info(); info.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", p, info.Mode().Perm())
			}
		}
		return err
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSignedVersionsIncreaseAcrossBuilds(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{})
	s.build(t0)
	res := s.build(t0.Add(time.Hour))
	if g := res.Signed; g.Targets != 2 || g.Snapshot != 2 || g.Timestamp != 2 || g.Root != 1 {
		t.Fatalf("second build signed %+v, want targets, snapshot and timestamp v2 and root v1", g)
	}
	snap, err := s.client(t0.Add(2 * time.Hour)).Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Timestamp != 2 {
		t.Errorf("client sees timestamp v%d, want 2", snap.Timestamp)
	}
	// The previous generation stays servable for clients in the middle of an update; re-signing
	// in place keeps one previous generation, no more.
	for i := 0; i < 2; i++ {
		if _, err := trust.Sign(s.out, s.out, s.keys, trust.SignOptions{Now: t0.Add(3 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	names, _ := filepath.Glob(filepath.Join(s.out, "tuf", "*.*.json"))
	var got []string
	for _, n := range names {
		got = append(got, filepath.Base(n))
	}
	want := []string{"1.root.json", "3.snapshot.json", "3.targets.json", "4.snapshot.json", "4.targets.json"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tuf/ holds %v, want %v", got, want)
	}
	if _, err := s.client(t0.Add(4*time.Hour)).Fetch(context.Background(), "feed.json"); err != nil {
		t.Fatal(err)
	}
}

func TestThreatRollback(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{})
	s.build(t0)
	lastWeek := s.snapshotOut()
	s.build(t0.Add(24 * time.Hour))
	c := s.client(t0.Add(25 * time.Hour))
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.serveDir(lastWeek) // replay last week's catalog
	_, err := c.Fetch(context.Background(), "api/v1/catalog.json")
	r := wantRefusal(t, err, trust.Rollback)
	if !strings.Contains(r.Error(), "timestamp v2") {
		t.Errorf("the refusal does not name the last good state it kept: %v", r)
	}
	s.serveDir(s.out)
	if snap, err := c.Refresh(context.Background()); err != nil || snap.Timestamp != 2 {
		t.Fatalf("after the refusal the client does not continue from v2: %+v, %v", snap, err)
	}
}

func TestThreatFreeze(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{})
	s.build(t0)
	c := s.client(t0.Add(24 * time.Hour))
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Eight days later the publisher (or a frozen mirror) still serves the same build.
	c.RefTime = t0.Add(8 * 24 * time.Hour)
	_, err := c.Fetch(context.Background(), "feed.json")
	r := wantRefusal(t, err, trust.Freeze)
	if !strings.Contains(r.Error(), "expired at 2026-11-08T12:00:00Z") {
		t.Errorf("the refusal does not say when the timestamp expired: %v", r)
	}
	// Re-signing in place (marketplace sign) restores freshness.
	if _, err := trust.Sign(s.out, s.out, s.keys, trust.SignOptions{Now: t0.Add(8 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(context.Background(), "feed.json"); err != nil {
		t.Fatalf("after re-signing: %v", err)
	}
}

func TestThreatMixAndMatch(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{})
	s.build(t0)
	old := s.snapshotOut()
	s.build(t0.Add(time.Hour))
	// A mirror serves the new timestamp and snapshot with the old targets metadata.
	data, err := os.ReadFile(filepath.Join(old, "tuf", "1.targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.out, "tuf", "2.targets.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.client(t0.Add(2*time.Hour)).Fetch(context.Background(), "api/v1/catalog.json")
	wantRefusal(t, err, trust.MixAndMatch)
}

func TestThreatTamperedTarget(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{})
	s.build(t0)
	c := s.client(t0.Add(time.Hour))
	snap, err := c.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The server's copy of catalog.json is changed after signing, keeping its length: the hash catches it.
	matches, err := filepath.Glob(filepath.Join(s.out, "tuf", "targets", "api", "v1", "*.catalog.json"))
	if err != nil || len(matches) != 1 {
		t.Fatalf("hash-named catalog.json: %v %v", matches, err)
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(matches[0]) // break the hard link: the attacker replaces the served file
	if err := os.WriteFile(matches[0], bytes.Replace(data, []byte("HSP"), []byte("XYZ"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = snap.Fetch("api/v1/catalog.json")
	wantRefusal(t, err, trust.Tampered)
}

func TestThreatWrongKey(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{})
	s.build(t0)
	// An attacker with their own key folder re-signs the (possibly altered) output.
	evilDir := filepath.Join(t.TempDir(), "evil")
	if _, err := trust.Init(evilDir, trust.KeyOptions{Keys: 1, Now: t0}); err != nil {
		t.Fatal(err)
	}
	evil, err := trust.LoadKeys(evilDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trust.Sign(s.out, s.out, evil, trust.SignOptions{Now: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_, err = s.client(t0.Add(2*time.Hour)).Fetch(context.Background(), "api/v1/catalog.json")
	wantRefusal(t, err, trust.WrongKey)
}

func TestThreatExpiredRoot(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{Expires: 24 * time.Hour})
	s.build(t0)
	// The publisher keeps re-signing the timestamp but never rotated its one-day root.
	if _, err := trust.Sign(s.out, s.out, s.keys, trust.SignOptions{Now: t0.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_, err := s.client(t0.Add(49 * time.Hour)).Refresh(context.Background())
	wantRefusal(t, err, trust.ExpiredRoot)
}

func TestThreatKeyRotation(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{Keys: 3, Threshold: 2})
	s.build(t0)
	c := s.client(t0.Add(time.Hour))
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	oldKeys := s.keys

	// Rotation needs the threshold of the current root keys: one of three is not enough.
	partial := t.TempDir()
	keys, err := filepath.Glob(filepath.Join(s.keyDir, "offline", "*.pem"))
	if err != nil || len(keys) != 3 {
		t.Fatalf("offline keys: %v %v", keys, err)
	}
	data, _ := os.ReadFile(keys[0])
	os.WriteFile(filepath.Join(partial, "one.pem"), data, 0o600)
	if _, err := trust.Rotate(s.keyDir, trust.RotateOptions{OfflineDir: partial, KeyOptions: trust.KeyOptions{Now: t0}}); err == nil {
		t.Fatal("rotation with 1 of 3 root keys (threshold 2) succeeded")
	}

	// Root v1 → v2 with new root and online keys; the client follows the signed chain.
	rot, err := trust.Rotate(s.keyDir, trust.RotateOptions{Online: true, KeyOptions: trust.KeyOptions{Now: t0}})
	if err != nil {
		t.Fatal(err)
	}
	if rot.Version != 2 {
		t.Fatalf("rotated to v%d, want 2", rot.Version)
	}
	s.loadKeys()
	s.build(t0.Add(2 * time.Hour))
	snap, err := c.Refresh(context.Background())
	if err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if snap.Root != 2 {
		t.Fatalf("client trusts root v%d, want 2", snap.Root)
	}
	// A fresh client configured with root v1 also walks to v2.
	if _, err := s.client(t0.Add(3*time.Hour)).Fetch(context.Background(), "feed.json"); err != nil {
		t.Fatal(err)
	}
	// A key folder still at root v1 refuses to sign over the output signed with v2.
	_, err = trust.Sign(s.out, s.out, oldKeys, trust.SignOptions{Now: t0.Add(4 * time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "signed with root v2") {
		t.Fatalf("signing with the retired keys: got %v, want a refusal naming root v2", err)
	}
}

func TestThreatStaleMirror(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{})
	s.build(t0)
	// A site mirror of the publisher, served on its own.
	mirrorDir := filepath.Join(t.TempDir(), "mirror")
	pin := &trust.Client{RefTime: t0.Add(time.Hour)}
	res, err := trust.CloneSite(context.Background(), s.srv.URL+"/", mirrorDir, s.rootJSON(), trust.MirrorOptions{Client: pin})
	if err != nil {
		t.Fatal(err)
	}
	if res.Fetched == 0 || res.Timestamp != 1 {
		t.Fatalf("clone = %+v, want files fetched at timestamp v1", res)
	}
	mirror := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(mirrorDir, trust.MirrorSiteDir))))
	defer mirror.Close()
	mirrorClient := func(ref time.Time) *trust.Client {
		return &trust.Client{MetadataURL: mirror.URL + "/tuf/", LocalDir: t.TempDir(), TrustedRoot: s.rootJSON(), RefTime: ref}
	}
	// The mirror's copy verifies with the publisher's root, file for file.
	got, err := mirrorClient(t0.Add(2*time.Hour)).Fetch(context.Background(), "api/v1/catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := os.ReadFile(filepath.Join(s.out, "api", "v1", "catalog.json")); !bytes.Equal(got, want) {
		t.Fatal("the mirror's catalog.json differs from the publisher's")
	}

	// The publisher moves on; the mirror stops syncing.
	s.build(t0.Add(24 * time.Hour))
	agent := s.client(t0.Add(25 * time.Hour))
	if _, err := agent.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	agent.MetadataURL = mirror.URL + "/tuf/" // the agent fails over to the stale mirror
	_, err = agent.Refresh(context.Background())
	wantRefusal(t, err, trust.Rollback)
	// A new agent that never saw v2 is stopped by the expiry instead.
	_, err = mirrorClient(t0.Add(8 * 24 * time.Hour)).Refresh(context.Background())
	wantRefusal(t, err, trust.Freeze)

	// After a sync the mirror serves v2 and the agent accepts it.
	res, err = trust.SyncSite(context.Background(), mirrorDir, trust.MirrorOptions{Client: &trust.Client{RefTime: t0.Add(26 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Timestamp != 2 || res.Reused == 0 {
		t.Fatalf("sync = %+v, want timestamp v2 with unchanged files reused", res)
	}
	if _, err := agent.Refresh(context.Background()); err != nil {
		t.Fatalf("after the mirror synced: %v", err)
	}
}

func TestSiteMirrorKeepsLastGoodStateOnRefusal(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{})
	s.build(t0)
	old := s.snapshotOut()
	s.build(t0.Add(time.Hour))
	mirrorDir := filepath.Join(t.TempDir(), "mirror")
	pin := trust.MirrorOptions{Client: &trust.Client{RefTime: t0.Add(2 * time.Hour)}}
	if _, err := trust.CloneSite(context.Background(), s.srv.URL, mirrorDir, s.rootJSON(), pin); err != nil {
		t.Fatal(err)
	}
	before := readTree(t, filepath.Join(mirrorDir, trust.MirrorSiteDir))
	s.serveDir(old) // the source is rolled back
	_, err := trust.SyncSite(context.Background(), mirrorDir, pin)
	wantRefusal(t, err, trust.Rollback)
	after := readTree(t, filepath.Join(mirrorDir, trust.MirrorSiteDir))
	if len(after) != len(before) {
		t.Fatalf("the refused sync changed the mirror: %d files, had %d", len(after), len(before))
	}
	for p, data := range before {
		if !bytes.Equal(after[p], data) {
			t.Fatalf("the refused sync changed %s", p)
		}
	}
	// Cloning into a folder that is not empty is refused and touches nothing.
	if _, err := trust.CloneSite(context.Background(), s.srv.URL, mirrorDir, s.rootJSON(), pin); err == nil {
		t.Fatal("clone into a non-empty folder succeeded")
	}
	if _, err := os.Stat(filepath.Join(mirrorDir, trust.MirrorStateFile)); err != nil {
		t.Fatalf("the refused clone removed the mirror's state: %v", err)
	}
}

func TestVerifyUpstreamAndCheckMerged(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{})
	res := s.build(t0)
	u := trust.Upstream{Name: "hspc", URL: s.srv.URL, Root: s.rootJSON(), StateDir: t.TempDir(), RefTime: t0.Add(time.Hour)}
	snap, err := trust.VerifyUpstream(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	// What a private marketplace merged from the upstream's Git repository.
	merged := map[string][]string{}
	for id, p := range res.Catalog.Products {
		for _, b := range p.Builds {
			merged[id] = append(merged[id], b.Digest())
		}
	}
	if len(merged) == 0 {
		t.Fatal("the example catalog has no products")
	}
	if problems := snap.CheckMerged("hspc", merged); len(problems) != 0 {
		t.Fatalf("the upstream's own catalog does not match its signed snapshot:\n%s", strings.Join(problems, "\n"))
	}
	merged["hspc/smuggled"] = []string{"sha256:" + strings.Repeat("0", 64)}
	if problems := snap.CheckMerged("hspc", merged); len(problems) != 1 || !strings.Contains(problems[0], "hspc/smuggled is not in its signed catalog") {
		t.Fatalf("a product the upstream did not sign: %q", problems)
	}
	// A frozen upstream is refused.
	u.RefTime = t0.Add(30 * 24 * time.Hour)
	_, err = trust.VerifyUpstream(context.Background(), u)
	wantRefusal(t, err, trust.Freeze)
}

func TestOfflineMediaWithReferenceTime(t *testing.T) {
	s := newSignedSite(t, trust.KeyOptions{})
	s.build(t0)
	// The output is carried into an air-gapped network on media: no HTTP, a folder.
	media := s.snapshotOut()
	state := t.TempDir()
	c := &trust.Client{MetadataURL: filepath.Join(media, "tuf"), LocalDir: state, TrustedRoot: s.rootJSON(), RefTime: t0.Add(3 * 24 * time.Hour)}
	got, err := c.Fetch(context.Background(), "api/v1/catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := os.ReadFile(filepath.Join(s.out, "api", "v1", "catalog.json")); !bytes.Equal(got, want) {
		t.Fatal("the catalog read from media differs")
	}
	// Media brought in after the freshness promise ran out is refused at that reference time.
	c.RefTime = t0.Add(9 * 24 * time.Hour)
	_, err = c.Refresh(context.Background())
	wantRefusal(t, err, trust.Freeze)
	// Last week's media, after this week's was read, is a rollback even within its validity.
	s.build(t0.Add(24 * time.Hour))
	newer := s.snapshotOut()
	c.MetadataURL, c.RefTime = filepath.Join(newer, "tuf"), t0.Add(2*24*time.Hour)
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.MetadataURL = filepath.Join(media, "tuf")
	_, err = c.Refresh(context.Background())
	wantRefusal(t, err, trust.Rollback)
}

func TestBuildWithRegistryMap(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "public")
	res, err := Build(ctx, Options{Root: "..", Out: out, Verify: VerifySkip, NoSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Catalog.Products["hspc/fhir-api"]
	b := p.Builds[len(p.Builds)-1]
	ref, err := catalog.ParseImageRef(b.Image)
	if err != nil {
		t.Fatal(err)
	}
	m := catalog.NewRegistryMap("registry.hospital.internal/hsp")
	m.Add(ref, "registry.hospital.internal/hsp/fhir-api")
	if _, err := Build(ctx, Options{Root: "..", Out: out, Verify: VerifySkip, NoSearch: true, RegistryMap: m}); err != nil {
		t.Fatal(err)
	}
	want := "registry.hospital.internal/hsp/fhir-api:" + ref.Tag + "@" + ref.Digest
	for _, f := range []string{"kubernetes.yaml", "compose.yaml"} {
		data, err := os.ReadFile(filepath.Join(out, "deploy", "hspc", "fhir-api@"+b.Version+"."+f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("image: "+want)) {
			t.Errorf("%s does not pull %s (the previous build's page was reused?)", f, want)
		}
	}
	api, err := os.ReadFile(filepath.Join(out, "api", "v1", "products", "hspc", "fhir-api.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(api, []byte("registry.hospital.internal")) || !bytes.Contains(api, []byte(ref.Digest)) {
		t.Error("the API should keep the publisher's image reference")
	}
}
