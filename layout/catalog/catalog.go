// Package catalog finds card templates by name: NAME.toml in a template
// directory first, then the templates shipped with cardd (package
// layout/samples). Parsed templates are cached and re-parsed when their
// file changes, so a daemon can look a template up for every job.
package catalog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/samples"
)

// ErrNotFound is returned (wrapped) for a template name that is neither in
// the directory nor shipped.
var ErrNotFound = errors.New("no such template")

// Catalog looks templates up by name. It is safe for concurrent use.
type Catalog struct {
	dir  string
	opts layout.ParseOptions

	mu    sync.Mutex
	cache map[string]entry
}

type entry struct {
	t    *layout.Template
	mod  time.Time
	size int64
}

// New returns a catalog of the templates in dir (may be "" for the shipped
// templates only), parsed with opts (nil for the defaults; its FS is set
// per template).
func New(dir string, opts *layout.ParseOptions) *Catalog {
	c := &Catalog{dir: dir, cache: map[string]entry{}}
	if opts != nil {
		c.opts = *opts
	}
	return c
}

// ValidName reports whether name can name a template: 1–64 letters,
// digits, '.', '_' or '-', starting with a letter or digit.
func ValidName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("template name %q: want 1–64 characters", name)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '.' || r == '_' || r == '-')
		if !ok {
			return fmt.Errorf("template name %q: only letters, digits, '.', '_' and '-' (not first)", name)
		}
	}
	return nil
}

// Template returns the template called name.
func (c *Catalog) Template(name string) (*layout.Template, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if c.dir != "" {
		path := filepath.Join(c.dir, name+".toml")
		fi, err := os.Stat(path)
		switch {
		case err == nil:
			return c.fromFile(name, path, fi)
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("template %s: %w", path, err)
		}
	}
	c.mu.Lock()
	e, ok := c.cache["shipped:"+name]
	c.mu.Unlock()
	if ok {
		return e.t, nil
	}
	if !contains(samples.TemplateNames(), name) {
		where := "among the shipped templates"
		if c.dir != "" {
			where = "in " + c.dir + " nor " + where
		}
		return nil, fmt.Errorf("template %q: %w %s", name, ErrNotFound, where)
	}
	t, err := samples.Template(name, &c.opts)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cache["shipped:"+name] = entry{t: t}
	c.mu.Unlock()
	return t, nil
}

func (c *Catalog) fromFile(name, path string, fi os.FileInfo) (*layout.Template, error) {
	c.mu.Lock()
	e, ok := c.cache["dir:"+name]
	c.mu.Unlock()
	if ok && e.mod.Equal(fi.ModTime()) && e.size == fi.Size() {
		return e.t, nil
	}
	t, err := layout.LoadTemplate(path, &c.opts)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cache["dir:"+name] = entry{t: t, mod: fi.ModTime(), size: fi.Size()}
	c.mu.Unlock()
	return t, nil
}

// Names lists the templates available, directory ones first shadowing
// shipped ones of the same name, sorted.
func (c *Catalog) Names() ([]string, error) {
	seen := map[string]bool{}
	for _, n := range samples.TemplateNames() {
		seen[n] = true
	}
	if c.dir != "" {
		ents, err := os.ReadDir(c.dir)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		for _, e := range ents {
			if n, ok := strings.CutSuffix(e.Name(), ".toml"); ok && ValidName(n) == nil {
				seen[n] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
