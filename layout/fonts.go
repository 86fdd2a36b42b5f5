package layout

import (
	"fmt"
	"os"
	"sort"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gobolditalic"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/gofont/gosmallcaps"
	"golang.org/x/image/font/opentype"
)

// builtinFont returns the embedded Go font of that name: go, go-bold,
// go-italic, go-bold-italic, go-medium, go-mono, go-mono-bold and
// go-smallcaps.
func builtinFont(name string) []byte {
	switch name {
	case "go":
		return goregular.TTF
	case "go-bold":
		return gobold.TTF
	case "go-italic":
		return goitalic.TTF
	case "go-bold-italic":
		return gobolditalic.TTF
	case "go-medium":
		return gomedium.TTF
	case "go-mono":
		return gomono.TTF
	case "go-mono-bold":
		return gomonobold.TTF
	case "go-smallcaps":
		return gosmallcaps.TTF
	}
	return nil
}

func builtinFontNames() []string {
	n := []string{"go", "go-bold", "go-italic", "go-bold-italic", "go-medium", "go-mono", "go-mono-bold", "go-smallcaps"}
	sort.Strings(n)
	return n
}

// font returns the parsed font name for template t: the template's own
// [fonts] first, then the configured font files, then the built-in Go
// fonts. Parsed fonts are cached.
func (r *Renderer) font(t *Template, name string) (*opentype.Font, error) {
	var key resKey
	var load func() ([]byte, error)
	switch file, ok := t.Fonts[name]; {
	case ok:
		key = resKey{t, "font:" + name}
		load = func() ([]byte, error) { return readResource(t.fsys, file) }
	case r.opts.FontFiles[name] != "":
		key = resKey{nil, "font:" + name}
		load = func() ([]byte, error) { return readFontFile(r.opts.FontFiles[name]) }
	case builtinFont(name) != nil:
		key = resKey{nil, "font:" + name}
		load = func() ([]byte, error) { return builtinFont(name), nil }
	default:
		return nil, fmt.Errorf("unknown font %q", clip(name))
	}
	r.mu.Lock()
	f, ok := r.fonts[key]
	r.mu.Unlock()
	if ok {
		return f, nil
	}
	b, err := load()
	if err != nil {
		return nil, fmt.Errorf("font %q: %w", name, err)
	}
	f, err = opentype.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("font %q: %w", name, err)
	}
	r.mu.Lock()
	if len(r.fonts) >= maxCached {
		clear(r.fonts)
	}
	r.fonts[key] = f
	r.mu.Unlock()
	return f, nil
}

func readFontFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > MaxResourceBytes {
		return nil, fmt.Errorf("%s: not a regular file of at most %d bytes", path, MaxResourceBytes)
	}
	return os.ReadFile(path)
}
