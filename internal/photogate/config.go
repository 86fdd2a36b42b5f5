package photogate

import (
	"crypto/sha256"
	"log/slog"
	"time"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/portrait"
)

// LoadDetector loads the face detector a station's [portrait] section
// names. Without the cascades it logs a warning and returns nil: the
// station then prints without face detection (no photo checks, fit =
// "face" crops by the anchor).
func LoadDetector(p config.Portrait, log *slog.Logger) *portrait.Detector {
	if p.Gate == config.GateOff && p.Cascades == "" {
		return nil
	}
	det, err := portrait.Load(p.Cascades)
	if err != nil {
		log.Warn("face detection unavailable: photos are not checked and fit = \"face\" crops by the anchor (install the cardd package or set portrait.cascades; cardd doctor checks it)", "err", err)
		return nil
	}
	log.Info("face detection ready", "cascades", det.Dir(), "gate", p.Gate)
	return det
}

// FromConfig returns the gate a station's [portrait] section sets up
// with det, or nil when there is none to run (gate off, or no detector).
// maxBytes and maxPixels are the renderer's photo limits (0: layout's
// defaults); observe (may be nil) hears of every photo checked; decode
// (may be nil) is Options.Decode.
func FromConfig(p config.Portrait, det *portrait.Detector, maxBytes, maxPixels int64, observe func(*portrait.Report, time.Duration),
	decode func(job string, photo []byte, sum [sha256.Size]byte, name string) (*layout.DecodedPhoto, error), log *slog.Logger) (*Gate, error) {
	if det == nil || p.Gate == config.GateOff {
		return nil, nil
	}
	return New(Options{Detector: det, Thresholds: portrait.FromConfig(p), Mode: Mode(p.Gate),
		MaxPhotoBytes: maxBytes, MaxPhotoPixels: maxPixels, Observe: observe, Decode: decode}, log)
}
