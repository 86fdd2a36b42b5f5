package layout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/color"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/image/font/opentype"

	"github.com/cardd/cardd/printer"
)

// CR80 card size in millimetres (ISO/IEC 7810 ID-1), landscape.
const (
	CR80WidthMM  = 85.60
	CR80HeightMM = 53.98
)

// Limits on templates, which come from technicians' files.
const (
	// MaxTemplateBytes is the largest template file accepted.
	MaxTemplateBytes = 1 << 20
	// MaxElements is the most elements one side may have.
	MaxElements = 256
	// MaxResourceBytes is the largest static image or font file a template
	// may name.
	MaxResourceBytes = 16 << 20
)

// Orientations of a template.
const (
	Landscape = "landscape"
	Portrait  = "portrait"
)

// Template is a parsed, checked card design. It is immutable after
// ParseTemplate and safe to render from several goroutines.
type Template struct {
	// Name is the template's name (its name key, or the file's base name).
	Name string
	// File is where the template was read from, for messages.
	File string
	// Description is free text.
	Description string
	// Orientation is Landscape or Portrait. A portrait template is drawn
	// upright and turned a quarter turn counter-clockwise into the
	// landscape raster (its top edge lies along the raster's left edge).
	Orientation string
	// Width and Height are the card's size in millimetres as the template
	// is drawn (Width < Height for a portrait template).
	Width, Height float64
	// Fonts maps font names to font files relative to the template's
	// directory.
	Fonts map[string]string
	// Front is the front side; Back is nil for a single-sided card.
	Front *SideTemplate
	Back  *SideTemplate

	fsys fs.FS
}

// SideTemplate is one side of a template.
type SideTemplate struct {
	// Name is "front" or "back".
	Name string
	// Overlay reports whether the side gets a clear overlay over the whole
	// card except its overlay_mask regions.
	Overlay bool
	// Elements are drawn in order.
	Elements []Element
}

// Sides returns the template's sides, front first.
func (t *Template) Sides() []*SideTemplate {
	if t.Back == nil {
		return []*SideTemplate{t.Front}
	}
	return []*SideTemplate{t.Front, t.Back}
}

// Fields returns the sorted names of every job field the template's
// expressions read (pipeline values such as Serial included).
func (t *Template) Fields() []string {
	seen := map[string]bool{}
	for _, s := range t.Sides() {
		for _, e := range s.Elements {
			if f, ok := e.(interface{ Exprs() []*Expr }); ok {
				for _, x := range f.Exprs() {
					for _, n := range x.fields {
						seen[n] = true
					}
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NeedsPhoto reports whether the template cannot be drawn without the
// job's photo: a photo or ghost element that is not optional, or a signed
// QR code that embeds a face thumbnail.
func (t *Template) NeedsPhoto() bool {
	for _, s := range t.Sides() {
		for _, e := range s.Elements {
			if n, ok := e.(interface{ needsPhoto() bool }); ok && n.needsPhoto() {
				return true
			}
		}
	}
	return false
}

// Element is one thing drawn on a side. See the package documentation for
// how to add a kind.
type Element interface {
	// Common returns the keys every element has.
	Common() *Base
	// Init checks the element once, when the template is parsed, and
	// prepares what Draw needs (compiled expressions, parsed colours).
	// Errors should be *FieldError values naming the key.
	Init(ic *InitContext) error
	// Draw draws the element for one card.
	Draw(ctx context.Context, dc *DrawContext) error
}

// Base holds the keys every element has. Element types embed it.
type Base struct {
	// Kind selects the element type (a key of Kinds).
	Kind string `toml:"kind"`
	// Name is an optional label used in messages.
	Name string `toml:"name"`
	// Panel is the panel drawn on: color, k, overlay or uv. The kind's
	// default applies when it is empty.
	Panel printer.Panel `toml:"panel"`
	// X, Y, W and H are the element's box in millimetres from the card's
	// top-left corner.
	X float64 `toml:"x"`
	Y float64 `toml:"y"`
	W float64 `toml:"w"`
	H float64 `toml:"h"`
	// Required makes rendering fail when the target printer's ribbon lacks
	// the element's panel; otherwise such an element is skipped and
	// reported (RenderResult.Skipped).
	Required bool `toml:"required"`
	// PanelOptional marks an element that prints only where the ribbon
	// has its panel (a UV pattern on a printer that may have no UV
	// panel): elsewhere it is skipped as expected, reported in
	// RenderResult.Skipped but logged at debug level, not as a warning.
	// It excludes Required.
	PanelOptional bool `toml:"panel_optional"`
}

// Common returns b.
func (b *Base) Common() *Base { return b }

// Box returns the element's box in millimetres.
func (b *Base) Box() Box { return Box{X: b.X, Y: b.Y, W: b.W, H: b.H} }

// Box is a rectangle in millimetres.
type Box struct{ X, Y, W, H float64 }

// Empty reports whether the box has no area.
func (b Box) Empty() bool { return b.W <= 0 || b.H <= 0 }

// Kind describes one element kind.
type Kind struct {
	// New returns a zero element of the kind, ready to be decoded into.
	New func() Element
	// Panel is the default panel of the kind.
	Panel printer.Panel
	// Panels lists the panels the kind may target; nil allows all.
	Panels []printer.Panel
}

// Kinds is a table of element kinds by name. It is a value: build it with
// DefaultKinds and add to it; nothing registers itself.
type Kinds map[string]Kind

// DefaultKinds returns the element kinds layout ships. Each new kind adds
// one line here.
func DefaultKinds() Kinds {
	return Kinds{
		"background":   {New: func() Element { return new(Background) }, Panel: printer.PanelColor},
		"photo":        {New: func() Element { return new(Photo) }, Panel: printer.PanelColor},
		"text":         {New: func() Element { return new(Text) }, Panel: printer.PanelColor},
		"image":        {New: func() Element { return new(Image) }, Panel: printer.PanelColor},
		"rect":         {New: func() Element { return new(Rect) }, Panel: printer.PanelColor},
		"line":         {New: func() Element { return new(Line) }, Panel: printer.PanelColor},
		"barcode":      {New: func() Element { return new(Barcode) }, Panel: printer.PanelK},
		"overlay_mask": {New: func() Element { return new(OverlayMask) }, Panel: printer.PanelOverlay, Panels: []printer.Panel{printer.PanelOverlay}},
		"microtext":    {New: func() Element { return new(Microtext) }, Panel: printer.PanelK, Panels: []printer.Panel{printer.PanelK, printer.PanelUV, printer.PanelColor}},
		"guilloche":    {New: func() Element { return new(Guilloche) }, Panel: printer.PanelColor, Panels: []printer.Panel{printer.PanelColor, printer.PanelK, printer.PanelUV}},
		"ghost":        {New: func() Element { return new(Ghost) }, Panel: printer.PanelColor, Panels: []printer.Panel{printer.PanelColor, printer.PanelUV}},
		"signed_qr":    {New: func() Element { return new(SignedQR) }, Panel: printer.PanelK, Panels: []printer.Panel{printer.PanelK}},
	}
}

// Names returns the kind names, sorted.
func (k Kinds) Names() []string {
	out := make([]string, 0, len(k))
	for n := range k {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// FieldError is an error about one key of an element.
type FieldError struct {
	// Field is the key path inside the element, such as "text" or
	// "gradient.from".
	Field string
	// Err is the problem.
	Err error
}

// Error names the key and the problem.
func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %v", e.Field, e.Err) }

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// fieldErr returns a *FieldError, or nil when err is nil.
func fieldErr(field string, err error) error {
	if err == nil {
		return nil
	}
	return &FieldError{Field: field, Err: err}
}

// Error is a template or rendering error. It names the template file, the
// line when known, the job, the side and element, and the key.
type Error struct {
	File  string // template file or name
	Line  int    // 1-based line in File; 0 when unknown
	JobID string // job being rendered, if any
	Side  string // "front" or "back", if any
	Index int    // 1-based element index on Side; 0 for none
	Kind  string // element kind
	Name  string // element name
	Field string // key path
	Err   error
}

// Error reads "template FILE:LINE: job ID: SIDE element N (KIND "NAME"):
// key "KEY": problem", leaving out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("template ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.JobID != "" {
		fmt.Fprintf(&b, ": job %s", e.JobID)
	}
	if e.Side != "" {
		b.WriteString(": ")
		b.WriteString(e.Side)
		if e.Index > 0 {
			fmt.Fprintf(&b, " element %d", e.Index)
			switch {
			case e.Kind != "" && e.Name != "":
				fmt.Fprintf(&b, " (%s %q)", e.Kind, e.Name)
			case e.Kind != "":
				fmt.Fprintf(&b, " (%s)", e.Kind)
			}
		}
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": key %q", e.Field)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ParseOptions tunes ParseTemplate.
type ParseOptions struct {
	// Kinds is the element kind table; nil means DefaultKinds().
	Kinds Kinds
	// FS holds the files the template names (static images, fonts),
	// relative to the template's directory; nil means the template names
	// none.
	FS fs.FS
	// Fonts names fonts known besides the built-in Go fonts and the
	// template's own [fonts] (the renderer's configured font files), so
	// that a template using them passes the check.
	Fonts []string
}

// LoadTemplate reads and parses the template file at file. The files it
// names are read from the file's directory, never outside it (symbolic
// links leaving it are refused).
func LoadTemplate(file string, opts *ParseOptions) (*Template, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, &Error{File: file, Err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &Error{File: file, Err: errors.New("not a regular file")}
	}
	if fi.Size() > MaxTemplateBytes {
		return nil, &Error{File: file, Err: fmt.Errorf("%d bytes, limit %d", fi.Size(), MaxTemplateBytes)}
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, &Error{File: file, Err: err}
	}
	root, err := os.OpenRoot(filepath.Dir(file))
	if err != nil {
		return nil, &Error{File: file, Err: err}
	}
	o := ParseOptions{}
	if opts != nil {
		o = *opts
	}
	o.FS = root.FS()
	return ParseTemplate(file, src, &o)
}

// ParseTemplate parses and checks a template. file names it in messages
// and gives its default name.
func ParseTemplate(file string, src []byte, opts *ParseOptions) (*Template, error) {
	var o ParseOptions
	if opts != nil {
		o = *opts
	}
	if o.Kinds == nil {
		o.Kinds = DefaultKinds()
	}
	fail := func(line int, field string, err error) error {
		return &Error{File: file, Line: line, Field: field, Err: err}
	}
	if len(src) > MaxTemplateBytes {
		return nil, fail(0, "", fmt.Errorf("%d bytes, limit %d", len(src), MaxTemplateBytes))
	}
	var raw rawTemplate
	md, err := toml.Decode(string(src), &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fail(pe.Position.Line, pe.LastKey, errors.New(pe.Message))
		}
		return nil, fail(0, "", err)
	}
	t := &Template{
		Name:        raw.Name,
		File:        file,
		Description: raw.Description,
		Orientation: raw.Orientation,
		Width:       raw.Width,
		Height:      raw.Height,
		Fonts:       raw.Fonts,
		fsys:        o.FS,
	}
	if t.Name == "" {
		t.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	if t.Orientation == "" {
		t.Orientation = Landscape
	}
	switch t.Orientation {
	case Landscape:
		if t.Width == 0 && t.Height == 0 {
			t.Width, t.Height = CR80WidthMM, CR80HeightMM
		}
	case Portrait:
		if t.Width == 0 && t.Height == 0 {
			t.Width, t.Height = CR80HeightMM, CR80WidthMM
		}
	default:
		return nil, fail(findLine(src, nil, -1, "orientation"), "orientation", fmt.Errorf("%q: want %q or %q", clip(t.Orientation), Landscape, Portrait))
	}
	for _, d := range []struct {
		key string
		v   float64
	}{{"width", t.Width}, {"height", t.Height}} {
		if !(d.v >= 10 && d.v <= 200) {
			return nil, fail(findLine(src, nil, -1, d.key), d.key, fmt.Errorf("%v mm: want 10–200 mm", d.v))
		}
	}
	if (t.Orientation == Portrait) != (t.Width < t.Height) && t.Width != t.Height {
		return nil, fail(findLine(src, nil, -1, "orientation"), "orientation", fmt.Errorf("%s card of %v × %v mm: a portrait card is narrower than tall", t.Orientation, t.Width, t.Height))
	}
	known := map[string]bool{}
	for _, n := range builtinFontNames() {
		known[n] = true
	}
	for _, n := range o.Fonts {
		known[n] = true
	}
	for _, n := range sortedKeys(t.Fonts) {
		b, err := readResource(o.FS, t.Fonts[n])
		if err == nil {
			_, err = opentype.Parse(b)
		}
		if err != nil {
			return nil, fail(findLine(src, []string{"fonts"}, -1, n), "fonts."+n, err)
		}
		known[n] = true
	}
	if raw.Front == nil {
		return nil, fail(0, "front", errors.New("missing: a template needs a [front] side"))
	}
	ic := &InitContext{Template: t, fonts: known}
	if t.Front, err = parseSide(src, file, "front", raw.Front, &md, o.Kinds, ic); err != nil {
		return nil, err
	}
	if raw.Back != nil {
		if t.Back, err = parseSide(src, file, "back", raw.Back, &md, o.Kinds, ic); err != nil {
			return nil, err
		}
		if len(t.Back.Elements) == 0 && !t.Back.Overlay {
			return nil, fail(findLine(src, []string{"back"}, -1, ""), "back", errors.New("the back side is empty: give it elements or overlay = true, or remove it for a single-sided card"))
		}
	}
	for _, k := range md.Undecoded() {
		if len(k) >= 2 && (k[0] == "front" || k[0] == "back") && k[1] == "element" {
			continue // checked element by element
		}
		var parent []string
		if len(k) > 1 {
			parent = k[:len(k)-1]
		}
		return nil, fail(findLine(src, parent, -1, k[len(k)-1]), k.String(), errors.New("unknown key"))
	}
	return t, nil
}

type rawTemplate struct {
	Name        string            `toml:"name"`
	Description string            `toml:"description"`
	Orientation string            `toml:"orientation"`
	Width       float64           `toml:"width"`
	Height      float64           `toml:"height"`
	Fonts       map[string]string `toml:"fonts"`
	Front       *rawSide          `toml:"front"`
	Back        *rawSide          `toml:"back"`
}

type rawSide struct {
	Overlay  *bool            `toml:"overlay"`
	Elements []toml.Primitive `toml:"element"`
}

func parseSide(src []byte, file, name string, raw *rawSide, md *toml.MetaData, kinds Kinds, ic *InitContext) (*SideTemplate, error) {
	s := &SideTemplate{Name: name}
	if len(raw.Elements) > MaxElements {
		return nil, &Error{File: file, Side: name, Field: name + ".element", Err: fmt.Errorf("%d elements, limit %d", len(raw.Elements), MaxElements)}
	}
	hasMask := false
	for i, prim := range raw.Elements {
		e, err := parseElement(src, file, name, i, prim, md, kinds, ic)
		if err != nil {
			return nil, err
		}
		if _, ok := e.(*OverlayMask); ok {
			hasMask = true
		}
		s.Elements = append(s.Elements, e)
	}
	s.Overlay = hasMask
	if raw.Overlay != nil {
		s.Overlay = *raw.Overlay
	}
	return s, nil
}

func parseElement(src []byte, file, side string, i int, prim toml.Primitive, md *toml.MetaData, kinds Kinds, ic *InitContext) (Element, error) {
	fail := func(kind, name, field string, err error) error {
		line := 0
		if field != "" {
			line = findLine(src, []string{side, "element"}, i, strings.SplitN(field, ".", 2)[0])
		}
		if line == 0 {
			line = findLine(src, []string{side, "element"}, i, "")
		}
		return &Error{File: file, Line: line, Side: side, Index: i + 1, Kind: kind, Name: name, Field: field, Err: err}
	}
	var keys map[string]any
	if err := md.PrimitiveDecode(prim, &keys); err != nil {
		return nil, fail("", "", "", err)
	}
	kindName, _ := keys["kind"].(string)
	elemName, _ := keys["name"].(string)
	if kindName == "" {
		return nil, fail("", elemName, "kind", errors.New("missing"))
	}
	kind, ok := kinds[kindName]
	if !ok || kind.New == nil {
		return nil, fail(kindName, elemName, "kind", fmt.Errorf("unknown element kind %q (known: %s)", clip(kindName), strings.Join(kinds.Names(), ", ")))
	}
	e := kind.New()
	if field, err := checkKeys(keys, reflect.TypeOf(e), ""); err != nil {
		return nil, fail(kindName, elemName, field, err)
	}
	if err := md.PrimitiveDecode(prim, e); err != nil {
		// The decoder names the key in its message only; its line is
		// ambiguous across an array of tables, so find the line here.
		if m := decodeErr.FindStringSubmatch(err.Error()); m != nil {
			return nil, fail(kindName, elemName, m[1][strings.LastIndex(m[1], ".")+1:], errors.New(m[2]))
		}
		return nil, fail(kindName, elemName, "", err)
	}
	b := e.Common()
	if b.Panel == "" {
		b.Panel = kind.Panel
	}
	if !validPanel(b.Panel) {
		return nil, fail(kindName, elemName, "panel", fmt.Errorf("%q: want color, k, overlay or uv", clip(string(b.Panel))))
	}
	if kind.Panels != nil && !containsPanel(kind.Panels, b.Panel) {
		return nil, fail(kindName, elemName, "panel", fmt.Errorf("%s cannot target the %s panel", kindName, b.Panel))
	}
	if b.PanelOptional && b.Required {
		return nil, fail(kindName, elemName, "panel_optional", errors.New("an element cannot be both panel_optional and required"))
	}
	for _, v := range []struct {
		k string
		v float64
	}{{"x", b.X}, {"y", b.Y}, {"w", b.W}, {"h", b.H}} {
		if math.IsNaN(v.v) || math.IsInf(v.v, 0) || v.v < -1000 || v.v > 1000 {
			return nil, fail(kindName, elemName, v.k, fmt.Errorf("%v mm is out of range", v.v))
		}
	}
	if b.W < 0 || b.H < 0 {
		return nil, fail(kindName, elemName, "w", errors.New("negative size"))
	}
	ic.side = side
	if err := e.Init(ic); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, fail(kindName, elemName, fe.Field, fe.Err)
		}
		return nil, fail(kindName, elemName, "", err)
	}
	return e, nil
}

func validPanel(p printer.Panel) bool {
	switch p {
	case printer.PanelColor, printer.PanelK, printer.PanelOverlay, printer.PanelUV:
		return true
	}
	return false
}

func containsPanel(ps []printer.Panel, p printer.Panel) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// checkKeys reports the first key of m that the struct type t (or a
// pointer to it) does not declare, recursing into nested tables.
func checkKeys(m map[string]any, t reflect.Type, prefix string) (string, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return "", nil
	}
	fields := map[string]reflect.Type{}
	collectTOMLFields(t, fields)
	for _, k := range sortedKeys(m) {
		ft, ok := fields[k]
		if !ok {
			return prefix + k, errors.New("unknown key")
		}
		if sub, ok := m[k].(map[string]any); ok {
			if f, err := checkKeys(sub, ft, prefix+k+"."); err != nil {
				return f, err
			}
		}
	}
	return "", nil
}

func collectTOMLFields(t reflect.Type, out map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			collectTOMLFields(f.Type, out)
			continue
		}
		if !f.IsExported() {
			continue
		}
		tag := strings.Split(f.Tag.Get("toml"), ",")[0]
		if tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		out[tag] = f.Type
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var decodeErr = regexp.MustCompile(`^toml: (?:line \d+ )?\(last key "([^"]+)"\): (.*)$`)

var keyLine = regexp.MustCompile(`^\s*("?)([A-Za-z0-9_-]+)("?)\s*=`)

// findLine finds the 1-based line of key in the table at parent (the
// index-th table of an array of tables when index >= 0). With key empty it
// returns the table's header line. It returns 0 when it cannot tell (keys
// set through dotted keys or inline tables).
func findLine(src []byte, parent []string, index int, key string) int {
	want := strings.Join(parent, ".")
	cur, count, curIndex := "", map[string]int{}, -1
	for n, line := range bytes.Split(src, []byte("\n")) {
		l := strings.TrimSpace(string(line))
		if strings.HasPrefix(l, "[[") {
			h := strings.TrimSpace(strings.Trim(strings.SplitN(l, "]]", 2)[0], "[ "))
			h = strings.ReplaceAll(h, " ", "")
			cur, curIndex = h, count[h]
			count[h]++
			if key == "" && cur == want && curIndex == index {
				return n + 1
			}
			continue
		}
		if strings.HasPrefix(l, "[") {
			h := strings.TrimSpace(strings.Trim(strings.SplitN(l, "]", 2)[0], "[ "))
			cur, curIndex = strings.ReplaceAll(h, " ", ""), -1
			if key == "" && cur == want && index < 0 {
				return n + 1
			}
			continue
		}
		if key == "" || cur != want || curIndex != index {
			continue
		}
		if m := keyLine.FindStringSubmatch(l); m != nil && m[2] == key {
			return n + 1
		}
	}
	return 0
}

// InitContext is what Element.Init gets: the template being parsed and
// checks for the values elements hold.
type InitContext struct {
	// Template is the template being parsed: its name, size, orientation
	// and fonts are set; its sides are not.
	Template *Template
	side     string
	fonts    map[string]bool
}

// Side returns the name of the side being parsed ("front" or "back").
func (ic *InitContext) Side() string { return ic.side }

// Expr compiles an expression held in key field.
func (ic *InitContext) Expr(field, src string) (*Expr, error) {
	e, err := CompileExpr(src)
	return e, fieldErr(field, err)
}

// Color parses a colour held in key field.
func (ic *InitContext) Color(field, s string) (color.RGBA, error) {
	c, err := ParseColor(s)
	return c, fieldErr(field, err)
}

// Font checks that a font name held in key field is known: a built-in Go
// font, a configured font or one of the template's [fonts].
func (ic *InitContext) Font(field, name string) error {
	if name == "" || ic.fonts[name] {
		return nil
	}
	return fieldErr(field, fmt.Errorf("unknown font %q (built in: %s)", clip(name), strings.Join(builtinFontNames(), ", ")))
}

// Resource checks that p, held in key field, names a regular file inside
// the template's directory: relative, no "..", no escape through a link.
func (ic *InitContext) Resource(field, p string) error {
	return fieldErr(field, checkResource(ic.Template.fsys, p))
}

func checkResource(fsys fs.FS, p string) error {
	if p == "" {
		return errors.New("empty path")
	}
	clean := path.Clean(filepath.ToSlash(p))
	if filepath.IsAbs(p) || path.IsAbs(clean) || !fs.ValidPath(clean) || strings.Contains(p, `\`) {
		return fmt.Errorf("path %q leaves the template directory", clip(p))
	}
	if fsys == nil {
		return fmt.Errorf("%q: the template has no directory to read files from", clip(p))
	}
	fi, err := fs.Stat(fsys, clean)
	if err != nil {
		return fmt.Errorf("%q: %w", clip(p), err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%q: not a regular file", clip(p))
	}
	if fi.Size() > MaxResourceBytes {
		return fmt.Errorf("%q: %d bytes, limit %d", clip(p), fi.Size(), MaxResourceBytes)
	}
	return nil
}

// readResource reads a checked resource.
func readResource(fsys fs.FS, p string) ([]byte, error) {
	if err := checkResource(fsys, p); err != nil {
		return nil, err
	}
	return fs.ReadFile(fsys, path.Clean(filepath.ToSlash(p)))
}
