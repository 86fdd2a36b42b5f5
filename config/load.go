package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

//go:embed default.toml
var embeddedTOML []byte

// EmbeddedName is the file name problems of the embedded default are
// reported under.
const EmbeddedName = "embedded default.toml"

// EmbeddedTOML returns the text of the embedded default configuration, a
// commented TOML file that describes Default.
func EmbeddedTOML() []byte { return bytes.Clone(embeddedTOML) }

// Embedded parses the embedded default configuration with its relative
// paths (spool, state, keys, emulator output) resolved under workDir.
func Embedded(workDir string) (*Config, error) {
	return parse(EmbeddedName, workDir, embeddedTOML, false)
}

// Load reads and parses the configuration file at path. Relative paths in
// it resolve against the file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return Parse(path, data)
}

// Parse parses configuration text. name is the file the text came from: it
// names the file in problems, and relative paths resolve against its
// directory. Parsing starts from Default, except that station.id and the
// printers (which identify a station) must be given. The error, when the
// configuration is not valid, is an *Error listing every problem.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, filepath.Dir(name), data, true)
}

// MaxSize is the largest configuration file Parse accepts.
const MaxSize = 1 << 20

func parse(name, baseDir string, data []byte, requireIdentity bool) (*Config, error) {
	probs := &problems{file: name}
	if len(data) > MaxSize {
		probs.add("", "file is larger than %d bytes", MaxSize)
		return nil, probs.err()
	}
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			probs.list = append(probs.list, Problem{File: name, Line: perr.Position.Line, Msg: "TOML syntax: " + perr.Message})
		} else {
			probs.add("", "TOML: %v", err)
		}
		return nil, probs.err()
	}
	probs.lines = indexLines(string(data))

	cfg := Default()
	if requireIdentity {
		cfg.Station.ID = ""
		cfg.Station.Name = ""
		cfg.Security.SerialStation = ""
		cfg.Printers = nil
	}
	d := &decoder{probs: probs, defined: map[string]bool{}}
	d.decodeStruct("", tree, reflect.ValueOf(cfg).Elem())

	cfg.resolve(baseDir)
	v := &validator{probs: probs, defined: d.defined}
	cfg.validate(v)
	if err := probs.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Marshal encodes the configuration as TOML that Parse reads back to the
// same configuration. Emulator settings are written only for printers
// whose connection is "emulator".
func Marshal(c *Config) ([]byte, error) {
	out := *c
	out.Printers = slices.Clone(c.Printers)
	for i := range out.Printers {
		if out.Printers[i].Connection != string(ConnEmulator) {
			out.Printers[i].Emulator = nil
		}
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(&out); err != nil {
		return nil, fmt.Errorf("config: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// resolve fills derived defaults and makes relative paths absolute under
// baseDir (itself made absolute when the working directory is known).
func (c *Config) resolve(baseDir string) {
	if abs, err := filepath.Abs(baseDir); err == nil {
		baseDir = abs
	}
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(baseDir, *p)
		}
	}
	if c.Station.Name == "" {
		c.Station.Name = c.Station.ID
	}
	if c.Security.SerialStation == "" && validSerialStation(strings.ToUpper(c.Station.ID)) {
		c.Security.SerialStation = strings.ToUpper(c.Station.ID)
	}
	abs(&c.Paths.Spool)
	abs(&c.Paths.State)
	abs(&c.Paths.Templates)
	underState := func(p *string, name string) {
		if *p == "" && c.Paths.State != "" {
			*p = filepath.Join(c.Paths.State, name)
		}
		abs(p)
	}
	underState(&c.Paths.Journal, "journal")
	underState(&c.Paths.Serials, "serials")
	underState(&c.Security.AuditLog, "audit.log")
	underState(&c.Security.DenyList, "deny-list.json")
	abs(&c.Security.SigningKey)
	abs(&c.Security.TrustList)
	abs(&c.Security.AuditKey)
	abs(&c.HTTP.TLSCert)
	abs(&c.HTTP.TLSKey)
	abs(&c.HTTP.TokenFile)
	abs(&c.HTTP.ClientCA)
	abs(&c.Portrait.Cascades)
	if c.Network != nil {
		c.Network.resolve(c, abs)
	}
	for i := range c.Printers {
		p := &c.Printers[i]
		if p.Connection == string(ConnEmulator) {
			if p.Emulator == nil {
				p.Emulator = DefaultEmulator()
			}
			abs(&p.Emulator.Output)
		} else {
			p.Emulator = nil
		}
		if len(p.FrontPanels) == 0 {
			p.FrontPanels = ribbonPanels(p.Ribbon)
		}
		if len(p.BackPanels) == 0 && p.Duplex {
			p.BackPanels = defaultBackPanels(p.Ribbon)
		}
	}
}
