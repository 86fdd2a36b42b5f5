package layout

import (
	"crypto/sha256"
	"time"

	"github.com/cardd/cardd/layout/portrait"
)

// Card types a template can print through the CardType value.
const (
	CardTemporary = "temporary"
	CardPermanent = "permanent"
)

// Data is one job's data as composition sees it: the holder's fields and
// photo from the job file, and the values the issuing pipeline provides.
// layout never reads job files; the caller fills Data.
type Data struct {
	// JobID is the producer's job id.
	JobID string
	// Fields are the holder's fields, name → value, as in the job file.
	Fields map[string]string
	// Photo is the raw portrait file (JPEG or PNG); nil when the job has
	// none.
	Photo []byte
	// PhotoSHA256, when not zero, is the SHA-256 of Photo, computed by the
	// caller on these very bytes (the station hashes the photo it read
	// once); it finds the intake's decode of the photo (IntakePhoto).
	// Zero: the renderer computes it when it needs it.
	PhotoSHA256 [sha256.Size]byte
	// PhotoName is the photo's file name, used in messages.
	PhotoName string
	// Faces, when not nil, are the faces already found in Photo (upright,
	// best first; the station's photo gate found them at intake): fit =
	// "face" uses them instead of searching the photo again.
	Faces []portrait.Face
	// Serial is the card serial number allocated for this card.
	Serial string
	// CardType is CardTemporary or CardPermanent.
	CardType string
	// IssuedAt is when the card is issued.
	IssuedAt time.Time
	// Expires is when the card expires; zero when it does not.
	Expires time.Time
}

// values returns the map field expressions are evaluated against: the
// fields plus the pipeline values, which take precedence.
func (d *Data) values() map[string]any {
	m := make(map[string]any, len(d.Fields)+5)
	for k, v := range d.Fields {
		m[k] = v
	}
	m["JobID"] = d.JobID
	m["Serial"] = d.Serial
	m["CardType"] = d.CardType
	m["IssuedAt"] = d.IssuedAt
	m["Expires"] = d.Expires
	return m
}
