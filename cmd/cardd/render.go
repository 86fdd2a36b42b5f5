package main

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/catalog"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool/jobfile"
)

const renderDoc = `Render a card to PNG files exactly as the printer would print it, panel by
panel, at the printer's native resolution. For each side it writes SIDE.png
(the card as it looks: colour with the K resin on top) and one PNG per panel
(SIDE-color.png, SIDE-k.png, SIDE-overlay.png, SIDE-uv.png; in the 1-bit
panels black means the panel's material is applied).

--template is a template name, looked up as NAME.toml in --templates and
then among the shipped samples, or a path to a template file. Without it the
job's own template is used. --samples renders every shipped template with
its sample job into OUT/NAME/. The serial is a preview value (--serial);
the card is issued now (--issued) and expires after the station's validity
period (--config; 30 days temporary, 10 years permanent without one).

Every panel is rendered by default (color, k, overlay, uv). --panels lists
the panels of a ribbon to preview what a given printer prints, e.g.
--panels color,k,overlay for a YMCKO ribbon: elements on other panels are
skipped with a warning on stderr, and an element the template marks
required = true on a missing panel is an error.`

// cmdRender implements "cardd render".
func cmdRender(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "render", "[--template NAME|FILE] --job FILE --out DIR [--dpi 300|600]\n       cardd render --samples --out DIR\n       cardd render --list [--templates DIR]", renderDoc)
	tmplFlag := fs.String("template", "", "template name or file (default: the job's template)")
	jobFlag := fs.String("job", "", "job file (TOML or JSON); its photo is read from the same directory")
	outFlag := fs.String("out", "", "directory to write the PNG files to (created if missing)")
	dpiFlag := fs.Int("dpi", 300, "printer resolution: 300 or 600")
	dirFlag := fs.String("templates", "", "template directory searched before the shipped samples")
	samplesFlag := fs.Bool("samples", false, "render every shipped sample template with its sample job")
	listFlag := fs.Bool("list", false, "list the templates --template NAME can name, and exit")
	serialFlag := fs.String("serial", "PREVIEW00000", "card serial to print")
	issuedFlag := fs.String("issued", "", "issue date, YYYY-MM-DD or RFC 3339 (default: now)")
	cfgFlag := fs.String("config", "", "station config: its template directory and card validity periods")
	panelsFlag := fs.String("panels", "", "comma-separated panels of the ribbon to preview: color, k, overlay, uv (default: all)")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	issued := time.Now().UTC()
	if *issuedFlag != "" {
		var err error
		if issued, err = time.Parse(time.RFC3339, *issuedFlag); err != nil {
			if issued, err = time.Parse("2006-01-02", *issuedFlag); err != nil {
				return usageError{fmt.Sprintf("--issued %q: want YYYY-MM-DD or RFC 3339", *issuedFlag)}
			}
		}
	}
	tempDays, permDays := 30, 10*365
	if *cfgFlag != "" {
		cfg, err := config.Load(*cfgFlag)
		if err != nil {
			return configError{Err: err}
		}
		tempDays, permDays = cfg.Station.TemporaryValidityDays, cfg.Station.PermanentValidityDays
		if *dirFlag == "" {
			*dirFlag = cfg.Paths.Templates
		}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	panels, err := parsePanels(*panelsFlag)
	if err != nil {
		return usageError{err.Error()}
	}
	if *listFlag {
		names, err := catalog.New(*dirFlag, nil).Names()
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(e.stdout, n)
		}
		return nil
	}
	if *outFlag == "" {
		return usageError{"--out DIR is required"}
	}
	if *dpiFlag != 300 && *dpiFlag != 600 {
		return usageError{fmt.Sprintf("--dpi %d: want 300 or 600", *dpiFlag)}
	}
	if *samplesFlag == (*jobFlag != "") {
		return usageError{"give either --job FILE or --samples"}
	}
	g := printer.CR80(*dpiFlag)
	r := layout.NewRenderer(&layout.Options{})
	popts := &layout.ParseOptions{Fonts: r.FontNames()}
	if *samplesFlag {
		jobs, err := samples.Jobs()
		if err != nil {
			return err
		}
		for _, j := range jobs {
			t, err := samples.Template(j.Template, popts)
			if err != nil {
				return err
			}
			if err := renderTo(ctx, e, r, t, j.Data, g, panels, filepath.Join(*outFlag, j.Name)); err != nil {
				return err
			}
		}
		return nil
	}
	job, err := jobfile.Load(*jobFlag)
	if err != nil {
		return err
	}
	var photo []byte
	if job.Photo != "" {
		if photo, err = job.ReadPhoto(filepath.Dir(*jobFlag), layout.DefaultMaxPhotoBytes); err != nil {
			return err
		}
	}
	d := jobData(job, photo, *serialFlag, issued, tempDays, permDays)
	name := *tmplFlag
	if name == "" {
		name = job.Template
	}
	var t *layout.Template
	if strings.ContainsRune(name, os.PathSeparator) || strings.ContainsRune(name, '/') || strings.HasSuffix(name, ".toml") {
		t, err = layout.LoadTemplate(name, popts)
	} else {
		t, err = catalog.New(*dirFlag, popts).Template(name)
	}
	if err != nil {
		return err
	}
	return renderTo(ctx, e, r, t, d, g, panels, *outFlag)
}

// jobData turns a job file and its photo into what composition needs,
// with the pipeline's values: the serial, the issue time and the expiry
// (tempDays or permDays after issue, by the job's mode; temporary when the
// job names none).
func jobData(job *jobfile.Job, photo []byte, serial string, issued time.Time, tempDays, permDays int) *layout.Data {
	d := &layout.Data{
		JobID:     job.ID,
		Fields:    job.Fields,
		Photo:     photo,
		PhotoName: job.Photo,
		Serial:    serial,
		CardType:  job.Mode,
		IssuedAt:  issued,
	}
	if d.CardType == "" {
		d.CardType = layout.CardTemporary
	}
	if d.CardType == layout.CardTemporary {
		d.Expires = issued.AddDate(0, 0, tempDays)
	} else {
		d.Expires = issued.AddDate(0, 0, permDays)
	}
	return d
}

// parsePanels parses the --panels list; empty means every panel (nil).
func parsePanels(s string) ([]printer.Panel, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []printer.Panel
	for _, f := range strings.Split(s, ",") {
		p := printer.Panel(strings.ToLower(strings.TrimSpace(f)))
		switch p {
		case printer.PanelColor, printer.PanelK, printer.PanelOverlay, printer.PanelUV:
			out = append(out, p)
		default:
			return nil, fmt.Errorf("--panels: %q is not a panel (want color, k, overlay or uv)", f)
		}
	}
	return out, nil
}

// renderTo renders one card for a ribbon with panels (nil: all) and writes
// its PNG files into dir. Elements skipped for want of a panel are listed
// on stderr.
func renderTo(ctx context.Context, e *env, r *layout.Renderer, t *layout.Template, d *layout.Data, g printer.Geometry, panels []printer.Panel, dir string) error {
	res, err := r.RenderWith(ctx, t, d, g, &layout.RenderOptions{Panels: panels})
	if err != nil {
		return err
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(e.stderr, "warning: %s\n", s)
	}
	card := res.Card
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	sides := []struct {
		name string
		s    *printer.Side
	}{{"front", &card.Front}, {"back", card.Back}}
	for _, sd := range sides {
		if sd.s == nil {
			continue
		}
		files := []struct {
			name string
			img  image.Image
		}{{sd.name + ".png", printer.Flatten(sd.s, g)}}
		if sd.s.Color != nil {
			files = append(files, struct {
				name string
				img  image.Image
			}{sd.name + "-color.png", sd.s.Color})
		}
		for _, p := range []struct {
			panel printer.Panel
			m     *printer.Mono
		}{{printer.PanelK, sd.s.K}, {printer.PanelOverlay, sd.s.Overlay}, {printer.PanelUV, sd.s.UV}} {
			if p.m != nil {
				files = append(files, struct {
					name string
					img  image.Image
				}{fmt.Sprintf("%s-%s.png", sd.name, p.panel), monoPNG(p.m)})
			}
		}
		for _, f := range files {
			path := filepath.Join(dir, f.name)
			if err := writePNG(path, f.img); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, path)
		}
	}
	return nil
}

// monoPNG turns a 1-bit panel into a two-colour paletted image (a 1-bit
// PNG): black where the panel's material is applied.
func monoPNG(m *printer.Mono) *image.Paletted {
	p := image.NewPaletted(m.Rect, color.Palette{color.White, color.Black})
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		row := p.Pix[p.PixOffset(m.Rect.Min.X, y):]
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			if m.BitAt(x, y) {
				row[x-m.Rect.Min.X] = 1
			}
		}
	}
	return p
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	// BestSpeed: the default level spent most of cardd render's CPU in
	// deflate for files a few percent smaller.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("render: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("render: write %s: %w", path, err)
	}
	return nil
}
