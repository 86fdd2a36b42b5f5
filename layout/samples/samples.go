// Package samples holds the templates and jobs cardd ships as examples and
// for its demo and tests: a single-sided "temporary" card and a dual-sided
// "permanent" card, a sample job for each, and synthetic portraits drawn
// by code (Portrait), never photographs of people.
package samples

import (
	"embed"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/cardd/cardd/layout"
)

//go:embed templates/*.toml templates/*.png jobs/*.toml
var files embed.FS

// PortraitWidth and PortraitHeight are the pixel size of the sample
// jobs' portraits: about one megapixel, like a real capture.
const PortraitWidth, PortraitHeight = 864, 1152

// TemplateNames returns the names of the shipped templates, sorted.
func TemplateNames() []string {
	ents, _ := fs.ReadDir(files, "templates")
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".toml"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// TemplateFS returns the directory of the shipped templates: each template
// NAME.toml and the images they use.
func TemplateFS() fs.FS {
	sub, err := fs.Sub(files, "templates")
	if err != nil {
		panic(err) // the embedded directory exists by construction
	}
	return sub
}

// Template parses the shipped template name. opts may be nil; its FS is
// replaced by the embedded template directory.
func Template(name string, opts *layout.ParseOptions) (*layout.Template, error) {
	src, err := fs.ReadFile(files, path.Join("templates", name+".toml"))
	if err != nil {
		return nil, fmt.Errorf("samples: no shipped template %q (have %s)", name, strings.Join(TemplateNames(), ", "))
	}
	var o layout.ParseOptions
	if opts != nil {
		o = *opts
	}
	o.FS = TemplateFS()
	return layout.ParseTemplate("samples/"+name+".toml", src, &o)
}

// Job is a shipped sample job.
type Job struct {
	// Name is the sample's name (the template it is for).
	Name string
	// File is the job file in the spool's job file format; its photo is
	// "photo.jpg", which PhotoJPEG provides.
	File []byte
	// Template is the template the job names.
	Template string
	// Data is the job as composition sees it, with the portrait and
	// pipeline values (serial, card type, issue and expiry dates) filled
	// in for a fixed issue time.
	Data *layout.Data
}

// IssueTime is the fixed issue time of the sample jobs, so that renders are
// reproducible.
func IssueTime() time.Time { return time.Date(2026, time.November, 27, 9, 30, 0, 0, time.UTC) }

// Jobs returns the shipped sample jobs, one per template, sorted by name.
func Jobs() ([]Job, error) {
	ents, err := fs.ReadDir(files, "jobs")
	if err != nil {
		return nil, fmt.Errorf("samples: %w", err)
	}
	var out []Job
	for i, e := range ents {
		b, err := fs.ReadFile(files, "jobs/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("samples: %w", err)
		}
		var jf struct {
			ID       string            `toml:"id"`
			Template string            `toml:"template"`
			Mode     string            `toml:"mode"`
			Photo    string            `toml:"photo"`
			Fields   map[string]string `toml:"fields"`
		}
		if _, err := toml.Decode(string(b), &jf); err != nil {
			return nil, fmt.Errorf("samples: job %s: %w", e.Name(), err)
		}
		photo, err := PortraitJPEG(uint64(i+1), PortraitWidth, PortraitHeight)
		if err != nil {
			return nil, err
		}
		d := &layout.Data{JobID: jf.ID, Fields: jf.Fields, Photo: photo, PhotoName: jf.Photo, CardType: jf.Mode}
		fillPipeline(d, uint64(i+1))
		out = append(out, Job{Name: strings.TrimSuffix(e.Name(), ".toml"), File: b, Template: jf.Template, Data: d})
	}
	return out, nil
}

// PhotoJPEG returns the portrait of the shipped sample job number i
// (0-based, in the order of Jobs).
func PhotoJPEG(i int) ([]byte, error) {
	return PortraitJPEG(uint64(i+1), PortraitWidth, PortraitHeight)
}

func fillPipeline(d *layout.Data, seed uint64) {
	d.IssuedAt = IssueTime()
	if d.CardType == layout.CardTemporary {
		d.Expires = d.IssuedAt.AddDate(0, 0, 30)
	} else {
		d.CardType = layout.CardPermanent
		d.Expires = d.IssuedAt.AddDate(10, 0, -1)
	}
	d.Serial = fmt.Sprintf("EX%08d", 10000000+seed*7919%90000000)
}

var (
	surnames = []string{"Ødegård", "Núñez", "Weißmüller", "Kowalczyk", "O'Brien", "Dubois", "Øvergaard-Lindqvist", "García Márquez", "Nowak-Ørsted", "Papadopoulou", "Østergaard", "Çelik", "Šimůnek", "Ó Súilleabháin", "Bjørnstad", "Müller-Lüdenscheidt"}
	givens   = []string{"Zoë", "Åsa Maria", "José Ángel", "Łukasz", "Chloé", "Søren", "Maëlle", "Ignacio", "Ewa Zofia", "Jürgen", "Siobhán", "Ådne", "Renée Françoise", "Mikuláš", "Inés", "Bartholomew Alexander Maximilian"}
)

// Generate returns n different sample jobs for template ("temporary" or
// "permanent"), deterministically from seed: varied Latin names with
// accents, dates of birth and portraits (of PortraitWidth × PortraitHeight
// pixels, so the photo decode is realistic).
func Generate(template string, n int, seed uint64) ([]*layout.Data, error) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]*layout.Data, 0, n)
	for i := 0; i < n; i++ {
		s := seed*1000 + uint64(i) + 1
		photo, err := PortraitJPEG(s, PortraitWidth, PortraitHeight)
		if err != nil {
			return nil, err
		}
		dob := time.Date(1940+rng.IntN(65), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		d := &layout.Data{
			JobID: fmt.Sprintf("SAMPLE-%s-%04d", strings.ToUpper(template[:min(4, len(template))]), i+1),
			Fields: map[string]string{
				"surname":       surnames[rng.IntN(len(surnames))],
				"given_names":   givens[rng.IntN(len(givens))],
				"date_of_birth": dob.Format("2006-01-02"),
				"nationality":   "exa",
				"address":       fmt.Sprintf("%d Rue de l’Église, %04d Säntisberg", 1+rng.IntN(200), 1000+rng.IntN(9000)),
			},
			Photo:     photo,
			PhotoName: "photo.jpg",
			CardType:  template,
		}
		fillPipeline(d, s)
		out = append(out, d)
	}
	return out, nil
}
