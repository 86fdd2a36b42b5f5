package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/catalog"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool/jobfile"
)

const renderDoc = `Render a card to PNG files exactly as the printer would print it, panel by
panel, at the printer's native resolution. For each side it writes SIDE.png
(the card as it looks: colour with the K resin on top) and one PNG per
ribbon panel, named by the ribbon's letters as the emulated printers name
the panels they decode: SIDE-y.png, SIDE-m.png, SIDE-c.png (the colour split
into its dyes, 8-bit grey), SIDE-k.png (resin), SIDE-o.png (overlay),
SIDE-f.png (UV, the fluorescent F panel), the last three 1-bit. In every
panel file black is where that panel puts ribbon on the card (grey: less
dye), white where it puts none.

--template is a template name, looked up as NAME.toml in --templates and
then among the shipped samples, or a path to a template file. Without it the
job's own template is used. --samples renders every shipped template with
its sample job into OUT/NAME/ (--out is required either way). The serial
is a preview value (--serial); the card is issued now (--issued) and
expires after the station's validity period (--config; without one the
embedded default's: 30 days temporary, 1825 days permanent). With
--samples the samples' own serial and issue date are used unless --serial
or --issued is given.

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
	args, err := parseArgs(fs, e.args)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	issued := time.Now().UTC()
	if *issuedFlag != "" {
		var err error
		if issued, err = time.Parse(time.RFC3339, *issuedFlag); err != nil {
			if issued, err = time.Parse("2006-01-02", *issuedFlag); err != nil {
				return usageError{fmt.Sprintf("--issued %q: want YYYY-MM-DD or RFC 3339", *issuedFlag)}
			}
		}
	}
	def := config.Default().Station
	tempDays, permDays := def.TemporaryValidityDays, def.PermanentValidityDays
	pc := config.DefaultPortrait()
	if *cfgFlag != "" {
		cfg, err := config.Load(*cfgFlag)
		if err != nil {
			return configError{Err: err}
		}
		tempDays, permDays = cfg.Station.TemporaryValidityDays, cfg.Station.PermanentValidityDays
		pc = cfg.Portrait
		if *dirFlag == "" {
			*dirFlag = cfg.Paths.Templates
		}
	}
	if len(args) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", args[0])}
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
	// Face detection as the station has it, so that a photo element with
	// fit = "face" previews as it prints (without the cascades it crops by
	// its anchor, as the station would).
	faces, _ := portrait.Load(pc.Cascades)
	r := layout.NewRenderer(&layout.Options{Faces: faces})
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
			d := *j.Data
			if given["serial"] {
				d.Serial = *serialFlag
			}
			if given["issued"] {
				d.IssuedAt = issued
			}
			d.Expires = expiry(d.CardType, d.IssuedAt, tempDays, permDays)
			j.Data = &d
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
	d.Expires = expiry(d.CardType, issued, tempDays, permDays)
	return d
}

// expiry is when a card of cardType issued at issued expires: tempDays
// or permDays later.
func expiry(cardType string, issued time.Time, tempDays, permDays int) time.Time {
	if cardType == layout.CardTemporary {
		return issued.AddDate(0, 0, tempDays)
	}
	return issued.AddDate(0, 0, permDays)
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
		files, err := panelFiles(sd.name, sd.s, g)
		if err != nil {
			return err
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

// namedImage is a PNG file to write: its name and image.
type namedImage struct {
	name string
	img  image.Image
}

// panelFiles returns the files of one side: SIDE.png (the side as it
// looks) and one per ribbon panel, by the ribbon's letters (y, m, c, k,
// o, f), as the emulated printers name the panels they decode: the colour
// split into its three dye planes (8-bit grey, black for full dye), the
// 1-bit panels as 1-bit PNGs (black where applied).
func panelFiles(side string, s *printer.Side, g printer.Geometry) ([]namedImage, error) {
	files := []namedImage{{side + ".png", printer.Flatten(s, g)}}
	if s.Color != nil {
		y, m, c, err := printer.SplitColor(s.Color, printer.Transform{}, 8)
		if err != nil {
			return nil, fmt.Errorf("render: %s colour: %w", side, err)
		}
		files = append(files, namedImage{side + "-y.png", y}, namedImage{side + "-m.png", m}, namedImage{side + "-c.png", c})
	}
	for _, p := range []struct {
		letter string
		m      *printer.Mono
	}{{"k", s.K}, {"o", s.Overlay}, {"f", s.UV}} {
		if p.m != nil {
			files = append(files, namedImage{side + "-" + p.letter + ".png", p.m.Paletted()})
		}
	}
	return files, nil
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
