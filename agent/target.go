package agent

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hspc/marketplace/catalog/gitrepo"
	"github.com/hspc/marketplace/generator/page"
	"github.com/hspc/marketplace/generator/write"
)

// Target is where the agent publishes an environment's manifests.
type Target interface {
	// Publish makes the target hold exactly files, atomically, and says where they went (a
	// commit, a folder). message describes the change.
	Publish(ctx context.Context, files map[string][]byte, message string) (string, error)
	String() string
}

// FolderTarget replaces a folder atomically with each publication, with the generator's writer:
// the folder is swapped in one rename, is never half-written, and is refused when it holds
// something that is not the agent's (or a build's) output.
type FolderTarget struct{ Dir string }

func (t *FolderTarget) String() string { return t.Dir }

// Publish writes files into the folder.
func (t *FolderTarget) Publish(ctx context.Context, files map[string][]byte, _ string) (string, error) {
	pages := make([]page.Page, 0, len(files))
	for _, name := range slices.Sorted(mapsKeys(files)) {
		pages = append(pages, page.Static(name, files[name]))
	}
	if _, err := write.Write(ctx, t.Dir, pages, write.Options{}); err != nil {
		return "", err
	}
	return "folder " + t.Dir, nil
}

// GitTarget commits the manifests to a folder of a branch of a Git repository, one commit per
// change, for Argo CD or Flux to apply.
type GitTarget struct {
	URL    string // any go-git URL; a local path or file:// for a repository on this machine
	Branch string // default "main"
	Folder string // folder in the repository; "" for its root
	Author string // "Name <email>"
	Now    func() time.Time
}

func (t *GitTarget) String() string {
	s := t.URL + "#" + t.branch()
	if t.Folder != "" {
		s += ":" + t.Folder
	}
	return s
}

func (t *GitTarget) branch() string {
	if t.Branch == "" {
		return "main"
	}
	return t.Branch
}

// Publish commits files as the folder's whole content and pushes the commit.
func (t *GitTarget) Publish(ctx context.Context, files map[string][]byte, message string) (string, error) {
	author := t.Author
	if author == "" {
		author = "marketplace agent <agent@marketplace.invalid>"
	}
	when := time.Now()
	if t.Now != nil {
		when = t.Now()
	}
	hash, changed, err := gitrepo.PublishFolder(ctx, t.URL, gitrepo.Commit{
		Branch: t.branch(), Folder: t.Folder, Files: files, Message: message, Author: author, When: when,
	})
	if err != nil {
		return "", err
	}
	if !changed {
		return fmt.Sprintf("commit %s (already there)", short(hash)), nil
	}
	return "commit " + short(hash), nil
}
