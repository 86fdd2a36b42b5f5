package station

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	"net/http"
	"sync"

	"golang.org/x/image/draw"

	"github.com/cardd/cardd/internal/dashboard"
	"github.com/cardd/cardd/internal/photogate"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool"
)

// dashboardHandler builds the operator dashboard on the station's
// scheduler, spool, printers and audit log. The card preview is on only
// when the configuration's dashboard.preview allows it. It returns nil
// (no dashboard; the error is logged) when the dashboard cannot be built.
func (s *Station) dashboardHandler(log *slog.Logger) http.Handler {
	o := dashboard.Options{
		Station:  s.cfg.Station.Name,
		Status:   s.status,
		Jobs:     s.sp.Jobs,
		Batches:  s.sp.Batches,
		Report:   s.sched.BatchReport,
		Actions:  s.sched,
		TestCard: s.testCard,
		Audit:    s.audit.log,
		Log:      log,
		PhotoReport: func(j spool.Job) *portrait.Report {
			rep, err := photogate.ReadReport(s.sp.JobDir(j.Num))
			if err != nil {
				return nil
			}
			return rep
		},
	}
	if o.Station == "" {
		o.Station = s.cfg.Station.ID
	}
	if s.net != nil && s.net.status != nil {
		o.Permanent = s.net.permanentStatus
	}
	if s.cfg.Dashboard.Preview {
		// Called before the scheduler runs: no card is printing yet.
		ps := &previewStore{}
		for _, p := range s.printers {
			p.preview = ps
		}
		o.Preview = ps.jpeg
	}
	d, err := dashboard.New(o)
	if err != nil {
		log.Error("no dashboard", "err", err)
		return nil
	}
	return d
}

// testCard prints a printer's built-in test card (the dashboard's button).
func (s *Station) testCard(ctx context.Context, name string) error {
	for _, p := range s.printers {
		if p.cfg.Name != name {
			continue
		}
		d, err := p.dev(ctx)
		if err != nil {
			return err
		}
		if err := d.TestCard(ctx); err != nil {
			return fmt.Errorf("printer %s: test card: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("no printer %q", name)
}

// PreviewWidth is the width of the dashboard's card preview, in pixels.
const PreviewWidth = 360

// previewStore keeps the card last sent to a printer for the dashboard's
// preview (dashboard.preview): the card is kept as sent and turned into
// a small JPEG of its flattened front on the first request, then cached.
type previewStore struct {
	mu   sync.Mutex
	card *printer.Card
	g    printer.Geometry
	enc  []byte
}

// keep remembers card as the one being printed.
func (p *previewStore) keep(card *printer.Card, g printer.Geometry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.card, p.g, p.enc = card, g, nil
}

// jpeg returns the preview (nil before the first card).
func (p *previewStore) jpeg() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.enc != nil || p.card == nil {
		return p.enc
	}
	img := printer.Flatten(&p.card.Front, p.g)
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil
	}
	h := b.Dy() * PreviewWidth / b.Dx()
	thumb := image.NewRGBA(image.Rect(0, 0, PreviewWidth, max(1, h)))
	draw.ApproxBiLinear.Scale(thumb, thumb.Bounds(), img, b, draw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, thumb, &jpeg.Options{Quality: 80}); err != nil {
		return nil
	}
	p.enc = buf.Bytes()
	return p.enc
}
