package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// File is the name the configuration was parsed under.
	File string
	// Line is the 1-based line of the key in File; 0 when unknown.
	Line int
	// Path is the key path, such as "printers[1].resolution" (array
	// indexes count from 0); empty for a problem of the whole file.
	Path string
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as "file:line: path: message".
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is every problem found in one configuration. Parse and Load return
// it (as *Error) when the configuration is not valid.
type Error struct {
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems as errors.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// problems collects the problems of one parse.
type problems struct {
	file  string
	lines lineIndex
	list  []Problem
}

// add records a problem at path, unless path already has one (a key whose
// value could not be decoded is not reported again by validation).
func (ps *problems) add(path, format string, args ...any) {
	if path != "" {
		for _, p := range ps.list {
			if p.Path == path {
				return
			}
		}
	}
	ps.list = append(ps.list, Problem{
		File: ps.file,
		Line: ps.lines.lookup(path),
		Path: path,
		Msg:  fmt.Sprintf(format, args...),
	})
}

// err returns the collected problems sorted by line (those without a line
// last), or nil.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	list := append([]Problem(nil), ps.list...)
	sort.SliceStable(list, func(i, j int) bool {
		li, lj := list[i].Line, list[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
	return &Error{Problems: list}
}

// lineIndex maps key paths ("printers[1].resolution") to the line that
// defines them. It is built by a light scan of TOML text that the TOML
// parser has already accepted, so it need only understand table headers,
// key/value lines and multi-line strings; keys it cannot place (inside
// inline tables or arrays) fall back to their nearest placed parent.
type lineIndex map[string]int

func indexLines(src string) lineIndex {
	idx := lineIndex{}
	for n, l := range scanTOML(src) {
		switch l.kind {
		case lineArrayHeader:
			setLine(idx, l.array, n+1)
			idx[l.path] = n + 1
		case lineHeader:
			setLine(idx, l.path, n+1)
		case lineKey:
			path := l.table
			for _, k := range l.keys {
				path = joinPath(path, k)
				setLine(idx, path, n+1)
			}
		}
	}
	return idx
}

// lineKind classifies a line of TOML text.
type lineKind int

const (
	lineOther       lineKind = iota // blank, comment, continuation
	lineHeader                      // [table]
	lineArrayHeader                 // [[array]]
	lineKey                         // key = value
)

// tomlLine is what scanTOML learns of one line.
type tomlLine struct {
	kind  lineKind
	table string   // the table the line is in (after a header: the header's)
	path  string   // a header's table path, a key line's full key path
	array string   // an array header's path without its index
	keys  []string // a key line's dotted key parts
}

// scanTOML classifies each line of TOML text that the TOML parser has
// accepted: table headers (with array indexes resolved), key/value lines
// and everything else (comments, blank lines, the inside of multi-line
// strings and arrays).
func scanTOML(src string) []tomlLine {
	lines := strings.Split(src, "\n")
	out := make([]tomlLine, len(lines))
	arrays := map[string]int{} // array-of-tables path (with parent indexes) → count
	table := ""                // current table path
	inMulti := ""              // closing delimiter of an open multi-line string
	for n, line := range lines {
		out[n].table = table
		if inMulti != "" {
			if strings.Count(line, inMulti)%2 == 1 {
				inMulti = ""
			}
			continue
		}
		s := strings.TrimSpace(line)
		switch {
		case s == "" || s[0] == '#':
			continue
		case strings.HasPrefix(s, "[["):
			end := strings.Index(s, "]]")
			if end < 0 {
				continue
			}
			base := headerPath(splitKey(s[2:end]), arrays)
			arrays[base]++
			table = fmt.Sprintf("%s[%d]", base, arrays[base]-1)
			out[n] = tomlLine{kind: lineArrayHeader, table: table, path: table, array: base}
			continue
		case s[0] == '[':
			end := strings.Index(s, "]")
			if end < 0 {
				continue
			}
			table = headerPath(splitKey(s[1:end]), arrays)
			out[n] = tomlLine{kind: lineHeader, table: table, path: table}
			continue
		}
		key, value, ok := cutKey(s)
		if !ok {
			continue
		}
		keys := splitKey(key)
		path := table
		for _, k := range keys {
			path = joinPath(path, k)
		}
		out[n] = tomlLine{kind: lineKey, table: table, path: path, keys: keys}
		for _, delim := range []string{`"""`, `'''`} {
			if strings.Count(value, delim)%2 == 1 {
				inMulti = delim
				break
			}
		}
	}
	return out
}

func setLine(idx lineIndex, path string, line int) {
	if _, ok := idx[path]; !ok {
		idx[path] = line
	}
}

// headerPath turns the keys of a table header into a key path, giving each
// prefix that is an array of tables the index of its latest element.
func headerPath(keys []string, arrays map[string]int) string {
	path := ""
	for i, k := range keys {
		path = joinPath(path, k)
		if i < len(keys)-1 {
			if n := arrays[path]; n > 0 {
				path = fmt.Sprintf("%s[%d]", path, n-1)
			}
		}
	}
	return path
}

// cutKey splits "key = value" outside quotes.
func cutKey(s string) (key, value string, ok bool) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '=':
			return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:]), true
		}
	}
	return "", "", false
}

// splitKey splits a dotted TOML key into its parts, unquoting quoted parts
// (escapes in basic strings are kept as written, which is enough to find
// a line).
func splitKey(s string) []string {
	var parts []string
	var cur strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '.':
			parts = append(parts, strings.TrimSpace(cur.String()))
			cur.Reset()
		case c == ' ' || c == '\t':
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, strings.TrimSpace(cur.String()))
}

// lookup returns the line of path or of its nearest placed parent; 0 when
// none is known.
func (idx lineIndex) lookup(path string) int {
	for path != "" {
		if n, ok := idx[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}
