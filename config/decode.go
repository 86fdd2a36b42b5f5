package config

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"
)

// decoder turns the generic tree the TOML parser produces into the typed
// configuration, collecting every problem instead of stopping at the first.
// It follows the toml struct tags, so the encoder and the decoder agree on
// key names.
type decoder struct {
	probs   *problems
	defined map[string]bool // key paths present in the file
}

// defaulter is implemented by slice element types whose entries start from
// non-zero defaults.
type defaulter interface{ applyDefaults() }

func (p *Printer) applyDefaults() { *p = DefaultPrinter() }

var durationType = reflect.TypeFor[time.Duration]()

// decode stores src, found at key path, into dst.
func (d *decoder) decode(path string, src any, dst reflect.Value) {
	d.defined[path] = true
	if dst.Type() == durationType {
		s, ok := src.(string)
		if !ok {
			d.probs.add(path, "must be a duration string such as \"30s\" or \"72h\", not %s", tomlType(src))
			return
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			d.probs.add(path, "%q is not a duration (use units such as \"30s\", \"10m\", \"72h\")", s)
			return
		}
		dst.SetInt(int64(v))
		return
	}
	switch dst.Kind() {
	case reflect.Pointer:
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
			if df, ok := dst.Interface().(defaulter); ok {
				df.applyDefaults()
			}
		}
		d.decode(path, src, dst.Elem())
	case reflect.Struct:
		m, ok := src.(map[string]any)
		if !ok {
			d.probs.add(path, "must be a table, not %s", tomlType(src))
			return
		}
		d.decodeStruct(path, m, dst)
	case reflect.String:
		s, ok := src.(string)
		if !ok {
			d.probs.add(path, "must be a string, not %s", tomlType(src))
			return
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := src.(bool)
		if !ok {
			d.probs.add(path, "must be true or false, not %s", tomlType(src))
			return
		}
		dst.SetBool(b)
	case reflect.Int:
		n, ok := src.(int64)
		if !ok {
			d.probs.add(path, "must be an integer, not %s", tomlType(src))
			return
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			d.probs.add(path, "%d is out of range", n)
			return
		}
		dst.SetInt(n)
	case reflect.Float64:
		switch n := src.(type) {
		case float64:
			if math.IsNaN(n) || math.IsInf(n, 0) {
				d.probs.add(path, "must be a finite number")
				return
			}
			dst.SetFloat(n)
		case int64:
			dst.SetFloat(float64(n))
		default:
			d.probs.add(path, "must be a number, not %s", tomlType(src))
		}
	case reflect.Slice:
		d.decodeSlice(path, src, dst)
	default:
		// Only reachable if a field of an unsupported kind is added to
		// the configuration types; the tests decode every field.
		d.probs.add(path, "cannot be decoded into %s", dst.Type())
	}
}

func (d *decoder) decodeStruct(path string, m map[string]any, dst reflect.Value) {
	fields := fieldsByKey(dst.Type())
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sub := joinPath(path, k)
		i, ok := fields[k]
		if !ok {
			d.probs.add(sub, "unknown key")
			continue
		}
		d.decode(sub, m[k], dst.Field(i))
	}
}

func (d *decoder) decodeSlice(path string, src any, dst reflect.Value) {
	var items []any
	switch v := src.(type) {
	case []any:
		items = v
	case []map[string]any:
		for _, m := range v {
			items = append(items, m)
		}
	default:
		d.probs.add(path, "must be an array, not %s", tomlType(src))
		return
	}
	if len(items) == 0 {
		dst.Set(reflect.Zero(dst.Type()))
		return
	}
	out := reflect.MakeSlice(dst.Type(), len(items), len(items))
	for i, item := range items {
		el := out.Index(i)
		if df, ok := el.Addr().Interface().(defaulter); ok {
			df.applyDefaults()
		}
		d.decode(fmt.Sprintf("%s[%d]", path, i), item, el)
	}
	dst.Set(out)
}

// fieldsByKey maps the toml keys of struct type t to field indexes.
func fieldsByKey(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if key == "-" {
			continue
		}
		if key == "" {
			key = f.Name
		}
		m[key] = i
	}
	return m
}

func joinPath(parent, key string) string {
	if !isBareKey(key) {
		key = fmt.Sprintf("%q", key)
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func isBareKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// tomlType names the TOML type of a decoded value for error messages.
func tomlType(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("string %q", v)
	case int64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		return fmt.Sprintf("float %g", v)
	case bool:
		return fmt.Sprintf("boolean %t", v)
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	case time.Time:
		return "a date/time"
	}
	return fmt.Sprintf("a %T", v)
}
