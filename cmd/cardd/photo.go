package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/catalog"
	"github.com/cardd/cardd/layout/portrait"
)

// cmdPhoto implements "cardd photo".
func cmdPhoto(ctx context.Context, e *env) error {
	return subcommands{
		help:    printPhotoHelp,
		missing: "missing subcommand",
		unknown: "unknown photo subcommand %q",
		table: map[string]func(context.Context, *env) error{
			"check": photoCheck,
			"crop":  photoCrop,
		},
	}.dispatch(ctx, e)
}

func printPhotoHelp(e *env) {
	fmt.Fprint(e.stderr, `Usage: cardd photo SUBCOMMAND [flags] FILE...

Subcommands:
  check FILE...                          the portrait checks of each photo: a verdict
                                         (pass, warn, fail) and every measure
  crop FILE --template NAME --out OUT.png  the crop a template's photo element makes
                                         of FILE (fit = "face": from the eyes)

Face detection needs the cascades the Debian package installs
(portrait.cascades of --config, or --cascades DIR). Run "cardd photo
SUBCOMMAND -h" for the flags.
`)
}

const photoCheckDoc = `Check portraits as the station does before it prints them: exactly one
face with its eyes found, eye distance, the head inside the photo, eyes
level, sharpness, exposure and background, each pass, warn or fail, with the
limits of the station's configuration (--config; the defaults without one).
JPEG EXIF orientation is applied first. Exit status 1 when any photo fails
or cannot be read.`

// photoDetector loads the face detector named by the flags or the
// configuration, and the configured thresholds.
func photoDetector(cfgPath, cascades string) (*portrait.Detector, portrait.Thresholds, error) {
	pc := config.DefaultPortrait()
	if cfgPath != "" {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return nil, portrait.Thresholds{}, configError{Err: err}
		}
		pc = cfg.Portrait
	}
	if cascades != "" {
		pc.Cascades = cascades
	}
	det, err := portrait.Load(pc.Cascades)
	if err != nil {
		return nil, portrait.Thresholds{}, fmt.Errorf("face detection unavailable (install the cardd package, or name the directory of pigo's facefinder and puploc with portrait.cascades or --cascades): %w", err)
	}
	return det, portrait.FromConfig(pc), nil
}

// readPhoto reads and decodes a photo within composition's limits.
func readPhoto(path string) ([]byte, image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, layout.DefaultMaxPhotoBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	img, err := layout.DecodePhoto(b, path, layout.DefaultMaxPhotoBytes, layout.DefaultMaxPhotoPixels)
	return b, img, err
}

// photoResult is one file's line of "photo check --json".
type photoResult struct {
	File   string           `json:"file"`
	Error  string           `json:"error,omitempty"`
	Report *portrait.Report `json:"report,omitempty"`
	Reason string           `json:"reason,omitempty"`
}

func photoCheck(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "photo check", "[--json] [--config FILE] [--cascades DIR] FILE...", photoCheckDoc)
	jsonFlag := fs.Bool("json", false, "print a JSON array, one object per file")
	cfgFlag := fs.String("config", "", "station configuration: its portrait.cascades and limits")
	cascFlag := fs.String("cascades", "", "directory of the face and pupil cascades (default: portrait.cascades)")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"no photo given"}
	}
	det, th, err := photoDetector(*cfgFlag, *cascFlag)
	if err != nil {
		return err
	}
	var results []photoResult
	failed := false
	for _, path := range fs.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		res := photoResult{File: path}
		if _, img, err := readPhoto(path); err != nil {
			res.Error = err.Error()
			failed = true
		} else {
			rep := det.Check(img, th)
			res.Report, res.Reason = &rep, rep.Reason()
			failed = failed || rep.Verdict == portrait.Fail
		}
		results = append(results, res)
		if !*jsonFlag {
			printPhotoResult(e.stdout, res)
		}
	}
	if *jsonFlag {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	}
	if failed {
		return errSilentFailure
	}
	return nil
}

func printPhotoResult(w io.Writer, r photoResult) {
	if r.Error != "" {
		fmt.Fprintf(w, "%s: error: %s\n", r.File, r.Error)
		return
	}
	rep := r.Report
	fmt.Fprintf(w, "%s: %s (%d × %d, %d face%s)\n", r.File, rep.Verdict, rep.Width, rep.Height, rep.Faces, map[bool]string{true: "", false: "s"}[rep.Faces == 1])
	for _, c := range rep.Checks {
		fmt.Fprintf(w, "  %-10s %-4s  %s\n", c.Name, c.Verdict, c.Message)
	}
}

const photoCropDoc = `Write the crop a template's photo element makes of a photo, at the
element's size in dots: from the eyes to the token portrait with fit = "face"
(eyes level on a line 45 % down the frame, a quarter of its width apart,
centred), else by the element's anchor. The template is a name (looked up in
--templates, then among the shipped samples) or a template file.`

func photoCrop(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "photo crop", "FILE --template NAME|FILE --out OUT.png [--dpi 300|600] [--templates DIR] [--config FILE] [--cascades DIR]", photoCropDoc)
	tmplFlag := fs.String("template", "", "template name or file")
	outFlag := fs.String("out", "", "PNG file to write")
	dpiFlag := fs.Int("dpi", 300, "printer resolution: 300 or 600")
	dirFlag := fs.String("templates", "", "template directory searched before the shipped samples (default: paths.templates)")
	cfgFlag := fs.String("config", "", "station configuration: portrait.cascades and paths.templates")
	cascFlag := fs.String("cascades", "", "directory of the face and pupil cascades (default: portrait.cascades)")
	// The photo may come before the flags.
	args := e.args
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	switch {
	case file == "":
		return usageError{"no photo given"}
	case *tmplFlag == "":
		return usageError{"--template NAME is required"}
	case *outFlag == "":
		return usageError{"--out OUT.png is required"}
	case *dpiFlag != 300 && *dpiFlag != 600:
		return usageError{fmt.Sprintf("--dpi %d: want 300 or 600", *dpiFlag)}
	}
	if *cfgFlag != "" && *dirFlag == "" {
		cfg, err := config.Load(*cfgFlag)
		if err != nil {
			return configError{Err: err}
		}
		*dirFlag = cfg.Paths.Templates
	}
	det, _, err := photoDetector(*cfgFlag, *cascFlag)
	if err != nil {
		fmt.Fprintf(e.stderr, "cardd photo crop: %v; cropping by the anchor\n", err)
		det = nil
	}
	r := layout.NewRenderer(&layout.Options{Faces: det})
	popts := &layout.ParseOptions{Fonts: r.FontNames()}
	var t *layout.Template
	if name := *tmplFlag; strings.ContainsRune(name, os.PathSeparator) || strings.ContainsRune(name, '/') || strings.HasSuffix(name, ".toml") {
		t, err = layout.LoadTemplate(name, popts)
	} else {
		t, err = catalog.New(*dirFlag, popts).Template(name)
	}
	if err != nil {
		return err
	}
	b, img, err := readPhoto(file)
	if err != nil {
		return err
	}
	out, p, err := r.PhotoCrop(t, &layout.Data{Photo: b, PhotoName: filepath.Base(file)}, *dpiFlag)
	if err != nil {
		return err
	}
	how := fmt.Sprintf("anchor %q", orDefault(p.Anchor, "center"))
	if p.Fit == "face" {
		how = "fit face, no face found: " + how
		if det == nil {
			how = "fit face, no face detection: " + how
		} else if faces := det.Detect(img); len(faces) > 0 && faces[0].Eyes {
			f := faces[0]
			how = fmt.Sprintf("fit face: eyes %.0f px apart in the photo, %.0f° roll", f.EyeDistance(), f.Roll())
		}
	}
	if err := writePNGFile(*outFlag, out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d × %d dots (%s)\n", *outFlag, out.Bounds().Dx(), out.Bounds().Dy(), how)
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writePNGFile writes img to path through a temporary file and a rename.
func writePNGFile(path string, img image.Image) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".photo-*.png")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := png.Encode(tmp, img); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
