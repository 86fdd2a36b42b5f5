package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// keyPaths lists every configuration key as a dotted path ("station.id",
// "printers.emulator.faults.kind"; arrays of tables have no index), from
// the toml tags of the configuration types.
func keyPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if !f.IsExported() || key == "-" || key == "" {
			continue
		}
		path := key
		if prefix != "" {
			path = prefix + "." + key
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != durationType {
			out = append(out, keyPaths(ft, path)...)
			continue
		}
		out = append(out, path)
	}
	return out
}

// TestREADMEDocumentsEveryKey keeps the README's configuration reference
// and the embedded default in step with the configuration types: each key
// must appear in the README as `key.path` and be set in default.toml.
func TestREADMEDocumentsEveryKey(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	embedded := string(EmbeddedTOML())
	keys := keyPaths(reflect.TypeFor[Config](), "")
	if len(keys) < 50 {
		t.Fatalf("found only %d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.Contains(string(readme), "`"+k+"`") {
			t.Errorf("README.md does not document the key `%s`", k)
		}
		last := k[strings.LastIndex(k, ".")+1:]
		set := "\n" + last + " = "
		if strings.HasPrefix(k, "network.") {
			// The network is off by default: default.toml shows its
			// keys as a commented example.
			set = "\n# " + last + " = "
		}
		if k != "printers.emulator.faults.kind" && k != "printers.emulator.faults.at_card" &&
			!strings.Contains(embedded, set) {
			t.Errorf("default.toml does not set %s", k)
		}
	}
}
