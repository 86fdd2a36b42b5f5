// Package jobfile reads and checks cardd job files.
//
// A job file describes one card to issue: the producer's job id (the
// idempotency key), the template to compose it with, the holder's fields,
// the name of the photo file that sits beside the job file, optional
// magnetic-stripe tracks and, for a reprint, the id of the job reprinted and
// why. It is written by a producer (a case system, "cardd submit", a CSV
// import) in TOML or JSON:
//
//	id = "CASE-2026-000123"
//	template = "temporary"
//	mode = "temporary"            # optional: temporary | permanent
//	photo = "photo.jpg"           # a file name in the job's own directory
//	reprint_of = "CASE-2026-0001" # optional; needs reprint_reason
//	reprint_reason = "card lost"
//	permanent = true              # optional: forward for a permanent card too
//	permanent_template = "permanent"  # optional, with permanent
//
//	[fields]
//	surname = "Doe"
//	given_names = "Jane"
//
//	[magnetic]                    # optional, ISO/IEC 7811 data without sentinels
//	track2 = "1234567890123456=2612"
//
// Everything in a job file is untrusted. Parse bounds the file size, the
// number of fields, every key's charset and every value's length, and
// rejects invalid UTF-8 and control characters; OpenPhoto and ReadPhoto
// never leave the job's directory and never follow a symbolic link. Every
// error is an *Error naming the file, the job id when known and the field.
package jobfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// Limits on a job file. They are deliberately generous for real cards and
// small enough that a hostile file cannot exhaust the daemon.
const (
	// MaxFileBytes is the largest job file accepted.
	MaxFileBytes = 64 << 10
	// MaxIDLen is the longest job id (and reprint_of reference).
	MaxIDLen = 64
	// MaxTemplateLen is the longest template name.
	MaxTemplateLen = 64
	// MaxFields is the most holder fields a job may carry.
	MaxFields = 64
	// MaxFieldKeyLen is the longest field name.
	MaxFieldKeyLen = 32
	// MaxFieldValueBytes is the longest field value, in bytes of UTF-8.
	MaxFieldValueBytes = 1024
	// MaxPhotoNameLen is the longest photo file name.
	MaxPhotoNameLen = 128
	// MaxReasonBytes is the longest reprint reason.
	MaxReasonBytes = 512
	// DefaultMaxPhotoBytes is the photo size limit OpenPhoto applies.
	DefaultMaxPhotoBytes = 8 << 20
)

// ISO/IEC 7811 track capacities, in characters of data without the start
// sentinel, end sentinel and LRC that the encoder adds.
const (
	MaxTrack1 = 76  // IATA, 6-bit alphanumeric, 210 bpi
	MaxTrack2 = 37  // ABA, 4-bit numeric, 75 bpi
	MaxTrack3 = 104 // THRIFT, 4-bit numeric, 210 bpi
)

// Modes a job may ask for.
const (
	ModeTemporary = "temporary"
	ModePermanent = "permanent"
)

// Format is the encoding of a job file.
type Format string

// Job file formats.
const (
	FormatTOML Format = "toml"
	FormatJSON Format = "json"
)

// Sentinel errors, matched with errors.Is through an *Error.
var (
	// ErrTooLarge: the file, a field or the photo exceeds its limit.
	ErrTooLarge = errors.New("too large")
	// ErrSyntax: the file is not well-formed TOML or JSON.
	ErrSyntax = errors.New("malformed job file")
	// ErrInvalid: a value breaks the job file rules (charset, missing
	// required field, unknown key, bad UTF-8, control character …).
	ErrInvalid = errors.New("invalid value")
	// ErrPathEscape: the photo name is absolute, contains a separator or
	// "..", or otherwise points outside the job directory.
	ErrPathEscape = errors.New("path escapes the job directory")
	// ErrSymlink: a file of the job is a symbolic link.
	ErrSymlink = errors.New("symbolic link refused")
	// ErrNotRegular: a file of the job is not a regular file.
	ErrNotRegular = errors.New("not a regular file")
	// ErrMissing: the job file or the photo does not exist.
	ErrMissing = errors.New("file missing")
	// ErrLinked: a file of the job has more than one hard link, so it may
	// be a file the producer was never given.
	ErrLinked = errors.New("hard-linked file refused")
)

// Error is a problem with one job file. File is the file's name as given,
// JobID the job's id when it was read, Field the offending key ("" for the
// file as a whole).
type Error struct {
	File  string
	JobID string
	Field string
	Err   error
}

// Error formats the problem as "job file FILE: job \"ID\": field F: why".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("job file ")
	b.WriteString(e.File)
	if e.JobID != "" {
		fmt.Fprintf(&b, ": job %q", e.JobID)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %s", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Magnetic holds the data of up to three magnetic-stripe tracks, without
// sentinels or LRC. An empty track is not encoded.
type Magnetic struct {
	// Track1 is IATA alphanumeric: characters 0x20–0x5F except the
	// sentinels '%' and '?'; at most MaxTrack1.
	Track1 string `toml:"track1,omitempty" json:"track1,omitempty"`
	// Track2 is ABA numeric: '0'–'9' and the separator '='; at most
	// MaxTrack2.
	Track2 string `toml:"track2,omitempty" json:"track2,omitempty"`
	// Track3 is numeric like track 2; at most MaxTrack3.
	Track3 string `toml:"track3,omitempty" json:"track3,omitempty"`
}

// Job is one parsed and validated job file.
type Job struct {
	// ID is the producer's job id, the idempotency key: 1–MaxIDLen
	// characters of [A-Za-z0-9._-], starting with a letter or digit.
	ID string `toml:"id" json:"id"`
	// Template names the card template (same charset as ID).
	Template string `toml:"template" json:"template"`
	// Mode is ModeTemporary, ModePermanent or empty for the station's
	// default.
	Mode string `toml:"mode,omitempty" json:"mode,omitempty"`
	// Fields are the holder's data, field name → value. Names are
	// [a-z][a-z0-9_]*; values valid UTF-8 without control characters.
	Fields map[string]string `toml:"fields,omitempty" json:"fields,omitempty"`
	// Photo is the portrait's file name inside the job's directory (a
	// single path element). Empty when the template needs no photo.
	Photo string `toml:"photo,omitempty" json:"photo,omitempty"`
	// Magnetic holds optional magnetic-stripe data.
	Magnetic *Magnetic `toml:"magnetic,omitempty" json:"magnetic,omitempty"`
	// ReprintOf is the id of the job this one reprints; it needs
	// ReprintReason.
	ReprintOf string `toml:"reprint_of,omitempty" json:"reprint_of,omitempty"`
	// ReprintReason says why the card is reprinted (lost, damaged …).
	ReprintReason string `toml:"reprint_reason,omitempty" json:"reprint_reason,omitempty"`
	// Permanent asks, at a field office of an issuance network, for a
	// permanent card as well: the office prints the temporary card and
	// forwards the job (data and photo) to the central facility.
	Permanent bool `toml:"permanent,omitempty" json:"permanent,omitempty"`
	// PermanentTemplate names the template of the permanent card (same
	// charset as Template); empty for the central facility's default.
	PermanentTemplate string `toml:"permanent_template,omitempty" json:"permanent_template,omitempty"`

	// File is the name the job was parsed from (not part of the file).
	File string `toml:"-" json:"-"`
}

// DetectFormat picks the format of a job file: by its extension (.toml,
// .json) and otherwise by its first non-blank byte ('{' means JSON).
func DetectFormat(name string, data []byte) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return FormatJSON
	case ".toml":
		return FormatTOML
	}
	if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '{' {
		return FormatJSON
	}
	return FormatTOML
}

// Load reads and parses the job file at path. The file is read with
// ReadFile: a regular file (not a symbolic link, FIFO or device, not hard
// linked) of at most MaxFileBytes.
func Load(path string) (*Job, error) {
	j, _, err := LoadData(path)
	return j, err
}

// LoadData is Load that also returns the bytes parsed (to hash them
// without reading the file twice).
func LoadData(path string) (*Job, []byte, error) {
	data, err := ReadFile(path, MaxFileBytes)
	if err != nil {
		return nil, nil, &Error{File: path, Err: err}
	}
	j, err := Parse(path, data)
	if err != nil {
		return nil, nil, err
	}
	return j, data, nil
}

// Parse parses and validates a job file's contents. name is used to pick
// the format and in errors.
func Parse(name string, data []byte) (*Job, error) {
	fail := func(field string, err error) error { return &Error{File: name, Field: field, Err: err} }
	if len(data) == 0 {
		return nil, fail("", fmt.Errorf("%w: empty file", ErrSyntax))
	}
	if len(data) > MaxFileBytes {
		return nil, fail("", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxFileBytes))
	}
	if !utf8.Valid(data) {
		return nil, fail("", fmt.Errorf("%w: file is not valid UTF-8", ErrInvalid))
	}
	var j Job
	switch DetectFormat(name, data) {
	case FormatJSON:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&j); err != nil {
			return nil, fail("", fmt.Errorf("%w: json: %v", ErrSyntax, err))
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, fail("", fmt.Errorf("%w: json: data after the job object", ErrSyntax))
		}
	default:
		md, err := toml.Decode(string(data), &j)
		if err != nil {
			return nil, fail("", fmt.Errorf("%w: toml: %v", ErrSyntax, err))
		}
		if und := md.Undecoded(); len(und) > 0 {
			return nil, fail(und[0].String(), fmt.Errorf("%w: unknown key", ErrInvalid))
		}
	}
	j.File = name
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return &j, nil
}

// Validate checks every rule of the job file format. Parse calls it; a
// producer building a Job in code (cardd submit) calls it before writing.
func (j *Job) Validate() error {
	fail := func(field string, err error) error {
		id := j.ID
		if validID(id) != nil {
			id = ""
		}
		return &Error{File: j.File, JobID: id, Field: field, Err: err}
	}
	if err := validID(j.ID); err != nil {
		return fail("id", err)
	}
	if err := validName(j.Template, MaxTemplateLen); err != nil {
		return fail("template", err)
	}
	switch j.Mode {
	case "", ModeTemporary, ModePermanent:
	default:
		return fail("mode", fmt.Errorf("%w: %q is not %q or %q", ErrInvalid, clip(j.Mode), ModeTemporary, ModePermanent))
	}
	if j.PermanentTemplate != "" {
		if !j.Permanent {
			return fail("permanent_template", fmt.Errorf("%w: permanent_template without permanent = true", ErrInvalid))
		}
		if err := validName(j.PermanentTemplate, MaxTemplateLen); err != nil {
			return fail("permanent_template", err)
		}
	}
	if len(j.Fields) > MaxFields {
		return fail("fields", fmt.Errorf("%w: %d fields, limit %d", ErrTooLarge, len(j.Fields), MaxFields))
	}
	for _, k := range sortedKeys(j.Fields) {
		if err := validKey(k); err != nil {
			return fail("fields."+clip(k), err)
		}
		if err := validText(j.Fields[k], MaxFieldValueBytes); err != nil {
			return fail("fields."+k, err)
		}
	}
	if j.Photo != "" {
		if err := ValidPhotoName(j.Photo); err != nil {
			return fail("photo", err)
		}
	}
	if m := j.Magnetic; m != nil {
		if err := validTrack1(m.Track1); err != nil {
			return fail("magnetic.track1", err)
		}
		if err := validNumericTrack(m.Track2, MaxTrack2); err != nil {
			return fail("magnetic.track2", err)
		}
		if err := validNumericTrack(m.Track3, MaxTrack3); err != nil {
			return fail("magnetic.track3", err)
		}
	}
	switch {
	case j.ReprintOf != "":
		if err := validID(j.ReprintOf); err != nil {
			return fail("reprint_of", err)
		}
		if j.ReprintOf == j.ID {
			return fail("reprint_of", fmt.Errorf("%w: a reprint needs an id of its own, not the id it reprints", ErrInvalid))
		}
		if strings.TrimSpace(j.ReprintReason) == "" {
			return fail("reprint_reason", fmt.Errorf("%w: a reprint needs a reason", ErrInvalid))
		}
		if err := validText(j.ReprintReason, MaxReasonBytes); err != nil {
			return fail("reprint_reason", err)
		}
	case j.ReprintReason != "":
		return fail("reprint_reason", fmt.Errorf("%w: reprint_reason without reprint_of", ErrInvalid))
	}
	return nil
}

// ValidID reports whether id is a well-formed job id.
func ValidID(id string) error { return validID(id) }

func validID(id string) error { return validName(id, MaxIDLen) }

// validName checks a job id or template name: 1–max characters of
// [A-Za-z0-9._-], starting with a letter or digit.
func validName(s string, max int) error {
	if s == "" {
		return fmt.Errorf("%w: missing", ErrInvalid)
	}
	if len(s) > max {
		return fmt.Errorf("%w: %d characters, limit %d", ErrTooLarge, len(s), max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if alnum || i > 0 && (c == '.' || c == '_' || c == '-') {
			continue
		}
		return fmt.Errorf("%w: %q: only letters, digits, '.', '_' and '-' (not first) are allowed", ErrInvalid, clip(s))
	}
	return nil
}

func validKey(k string) error {
	if k == "" {
		return fmt.Errorf("%w: empty field name", ErrInvalid)
	}
	if len(k) > MaxFieldKeyLen {
		return fmt.Errorf("%w: field name of %d characters, limit %d", ErrTooLarge, len(k), MaxFieldKeyLen)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '_') {
			continue
		}
		return fmt.Errorf("%w: field name %q: lower-case letters, digits and '_' only, starting with a letter", ErrInvalid, clip(k))
	}
	return nil
}

// ValidText reports whether s is acceptable free text of at most max
// bytes, by the rules of field values (valid UTF-8, no control or
// replacement characters).
func ValidText(s string, max int) error { return validText(s, max) }

// validText checks a free-text value: valid UTF-8, no control characters
// (not even newlines), no U+FFFD, at most max bytes.
func validText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalid)
	}
	for i, r := range s {
		if r == utf8.RuneError {
			// Valid UTF-8 of U+FFFD is refused too: it is what a broken
			// encoding (or a JSON lone surrogate) decodes to.
			return fmt.Errorf("%w: replacement character %U at byte %d (broken encoding?)", ErrInvalid, r, i)
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return fmt.Errorf("%w: control character %U at byte %d", ErrInvalid, r, i)
		}
	}
	return nil
}

func validTrack1(s string) error {
	if len(s) > MaxTrack1 {
		return fmt.Errorf("%w: %d characters, track 1 holds %d", ErrTooLarge, len(s), MaxTrack1)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x5f || c == '%' || c == '?' {
			return fmt.Errorf("%w: byte %#02x at %d is not in the track 1 character set (space to '_', upper case, no sentinels)", ErrInvalid, c, i)
		}
	}
	return nil
}

func validNumericTrack(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: %d characters, the track holds %d", ErrTooLarge, len(s), max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || c == '=' {
			continue
		}
		return fmt.Errorf("%w: byte %#02x at %d is not a digit or '='", ErrInvalid, c, i)
	}
	return nil
}

// ValidPhotoName reports whether name is acceptable as a photo file name:
// one path element, not absolute, not "." or "..", no separators, no
// leading dot, no control characters, at most MaxPhotoNameLen bytes.
func ValidPhotoName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty photo name", ErrInvalid)
	case len(name) > MaxPhotoNameLen:
		return fmt.Errorf("%w: photo name of %d bytes, limit %d", ErrTooLarge, len(name), MaxPhotoNameLen)
	case filepath.IsAbs(name) || strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`):
		return fmt.Errorf("%w: %q is an absolute path", ErrPathEscape, clip(name))
	case name == "." || name == ".." || strings.Contains(name, ".."):
		return fmt.Errorf("%w: %q contains \"..\"", ErrPathEscape, clip(name))
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("%w: %q is not a plain file name", ErrPathEscape, clip(name))
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("%w: %q is a hidden file name", ErrInvalid, clip(name))
	}
	if err := validText(name, MaxPhotoNameLen); err != nil {
		return err
	}
	return nil
}

// OpenPhoto opens the job's photo in dir, the job's own directory. The
// photo must be a regular file directly inside dir, not a symbolic link,
// of at most DefaultMaxPhotoBytes. The caller closes the file.
func (j *Job) OpenPhoto(dir string) (*os.File, error) {
	f, _, err := j.openPhoto(dir, DefaultMaxPhotoBytes)
	return f, err
}

// ReadPhoto reads the job's photo from dir with the checks of OpenPhoto
// and a limit of maxBytes.
func (j *Job) ReadPhoto(dir string, maxBytes int64) ([]byte, error) {
	f, size, err := j.openPhoto(dir, maxBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readLimited(f, size, maxBytes)
	if err != nil {
		return nil, j.photoErr(err)
	}
	return data, nil
}

func (j *Job) photoErr(err error) error {
	return &Error{File: j.File, JobID: j.ID, Field: "photo", Err: err}
}

func (j *Job) openPhoto(dir string, maxBytes int64) (*os.File, int64, error) {
	if j.Photo == "" {
		return nil, 0, j.photoErr(fmt.Errorf("%w: the job names no photo", ErrMissing))
	}
	if err := ValidPhotoName(j.Photo); err != nil {
		return nil, 0, j.photoErr(err)
	}
	f, st, err := OpenFile(filepath.Join(dir, j.Photo), maxBytes)
	if err != nil {
		return nil, 0, j.photoErr(err)
	}
	return f, st.Size(), nil
}

// OpenFile opens a file taken from the spool (a job file, a photo, a
// control request) for reading, the one safe way: without following a
// symbolic link (O_NOFOLLOW) and without blocking on a FIFO or device
// (O_NONBLOCK); then, on the open descriptor, it must be a regular file
// with a single hard link (a producer cannot hand over a file it was never
// given by linking it) of at most max bytes. Read it through a limit of
// max bytes too (ReadFile does): it may still grow. Errors wrap ErrMissing,
// ErrSymlink, ErrNotRegular, ErrLinked or ErrTooLarge and name the file.
// The caller closes the file.
func OpenFile(path string, max int64) (*os.File, fs.FileInfo, error) {
	base := filepath.Base(path)
	// The Lstat is for a clear error and for platforms without
	// O_NOFOLLOW; what decides is the descriptor's fstat below.
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%w: %s", ErrMissing, base)
		}
		return nil, nil, fmt.Errorf("stat %s: %w", base, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, nil, fmt.Errorf("%w: %s", ErrSymlink, base)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%w: %s is a %s", ErrNotRegular, base, typeName(fi.Mode()))
	}
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow|oNonBlock, 0)
	if err != nil {
		switch {
		case isLoop(err):
			return nil, nil, fmt.Errorf("%w: %s", ErrSymlink, base)
		case errors.Is(err, fs.ErrNotExist):
			return nil, nil, fmt.Errorf("%w: %s", ErrMissing, base)
		}
		return nil, nil, fmt.Errorf("open %s: %w", base, err)
	}
	fail := func(err error) (*os.File, fs.FileInfo, error) {
		f.Close()
		return nil, nil, err
	}
	st, err := f.Stat()
	switch {
	case err != nil:
		return fail(fmt.Errorf("stat %s: %w", base, err))
	case !st.Mode().IsRegular():
		return fail(fmt.Errorf("%w: %s is a %s", ErrNotRegular, base, typeName(st.Mode())))
	case !os.SameFile(fi, st):
		return fail(fmt.Errorf("%w: %s was replaced while opened", ErrNotRegular, base))
	case linkCount(st) > 1:
		return fail(fmt.Errorf("%w: %s has %d hard links", ErrLinked, base, linkCount(st)))
	case st.Size() > max:
		return fail(fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, base, st.Size(), max))
	}
	return f, st, nil
}

// ReadFile reads a file taken from the spool with the checks of OpenFile,
// through a limit of max bytes.
func ReadFile(path string, max int64) ([]byte, error) {
	f, st, err := OpenFile(path, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, st.Size(), max)
}

// readLimited reads f, whose size was size when opened, refusing more than
// max bytes.
func readLimited(f *os.File, size, max int64) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, size+1))
	if _, err := buf.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(f.Name()), err)
	}
	if int64(buf.Len()) > max {
		return nil, fmt.Errorf("%w: %s grew past %d bytes while read", ErrTooLarge, filepath.Base(f.Name()), max)
	}
	return buf.Bytes(), nil
}

// typeName names a file type for an error message.
func typeName(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeNamedPipe != 0:
		return "FIFO"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeCharDevice != 0:
		return "character device"
	case t&fs.ModeDevice != 0:
		return "device"
	case t&fs.ModeDir != 0:
		return "directory"
	case t&fs.ModeSymlink != 0:
		return "symbolic link"
	}
	return "special file"
}

// Encode writes the job in format f. TOML is the format for people; JSON
// for programs.
func (j *Job) Encode(w io.Writer, f Format) error {
	switch f {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(j); err != nil {
			return fmt.Errorf("job %q: encode json: %w", j.ID, err)
		}
	case FormatTOML:
		if err := toml.NewEncoder(w).Encode(j); err != nil {
			return fmt.Errorf("job %q: encode toml: %w", j.ID, err)
		}
	default:
		return fmt.Errorf("job %q: unknown format %q", j.ID, f)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// clip shortens s for an error message so a hostile 10k value is not
// echoed back whole.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
