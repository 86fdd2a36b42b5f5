package layout

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of field expressions.
const (
	// MaxExprLen is the longest expression source accepted, in bytes.
	MaxExprLen = 2048
	// MaxExprOutput is the longest text an expression may produce, in bytes.
	MaxExprOutput = 4096
)

// ErrMissingField is returned (wrapped) when an expression uses a field the
// job does not have.
var ErrMissingField = errors.New("missing field")

// Expr is a compiled field expression such as {{.surname | upper}}.
type Expr struct {
	src    string
	tmpl   *template.Template
	fields []string // fields referenced, sorted
	static bool     // no actions: the source is the text
}

// Funcs returns the fixed function map available to expressions. It is
// built fresh for every call: there is no shared mutable state.
func Funcs() template.FuncMap {
	return template.FuncMap{
		"upper":    strings.ToUpper,
		"lower":    strings.ToLower,
		"title":    titleCase,
		"trim":     strings.TrimSpace,
		"date":     formatDate,
		"default":  defaultValue,
		"truncate": truncateRunes,
		"join":     joinNonEmpty,
	}
}

// CompileExpr parses src as a field expression.
func CompileExpr(src string) (*Expr, error) {
	if len(src) > MaxExprLen {
		return nil, fmt.Errorf("expression of %d bytes, limit %d", len(src), MaxExprLen)
	}
	if !utf8.ValidString(src) {
		return nil, errors.New("expression is not valid UTF-8")
	}
	t, err := template.New("expr").Option("missingkey=error").Funcs(Funcs()).Parse(src)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", clip(src), err)
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("expression %q: define and block are not allowed", clip(src))
	}
	e := &Expr{src: src, tmpl: t}
	seen := map[string]bool{}
	var bad error
	walkNode(t.Tree.Root, func(n parse.Node) {
		switch n := n.(type) {
		case *parse.FieldNode:
			if !seen[n.Ident[0]] {
				seen[n.Ident[0]] = true
				e.fields = append(e.fields, n.Ident[0])
			}
		case *parse.TemplateNode, *parse.RangeNode, *parse.BreakNode, *parse.ContinueNode:
			bad = fmt.Errorf("expression %q: %s is not allowed", clip(src), n)
		case *parse.VariableNode:
			if len(n.Ident) > 1 {
				// $x.field: allowed only on $ itself.
				if n.Ident[0] == "$" && !seen[n.Ident[1]] {
					seen[n.Ident[1]] = true
					e.fields = append(e.fields, n.Ident[1])
				}
			}
		case *parse.IdentifierNode:
			if n.Ident == "call" {
				bad = fmt.Errorf("expression %q: call is not allowed", clip(src))
			}
		}
	})
	if bad != nil {
		return nil, bad
	}
	sort.Strings(e.fields)
	e.static = len(t.Tree.Root.Nodes) <= 1 && !strings.Contains(src, "{{")
	return e, nil
}

// String returns the expression's source.
func (e *Expr) String() string { return e.src }

// Fields returns the names of the fields the expression reads.
func (e *Expr) Fields() []string { return append([]string(nil), e.fields...) }

// Eval evaluates the expression against d.
func (e *Expr) Eval(d *Data) (string, error) {
	if e.static {
		return e.src, nil
	}
	return e.eval(d.values())
}

func (e *Expr) eval(vals map[string]any) (string, error) {
	if e.static {
		return e.src, nil
	}
	for _, f := range e.fields {
		if _, ok := vals[f]; !ok {
			return "", fmt.Errorf("field %q: %w in job", f, ErrMissingField)
		}
	}
	var buf limitedBuffer
	buf.max = MaxExprOutput
	if err := e.tmpl.Execute(&buf, vals); err != nil {
		var ee template.ExecError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("expression %q: %w", clip(e.src), ee.Err)
		}
		return "", fmt.Errorf("expression %q: %w", clip(e.src), err)
	}
	return buf.String(), nil
}

// limitedBuffer fails writes past max bytes.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

var errOutputTooLong = fmt.Errorf("expression output longer than %d bytes", MaxExprOutput)

// Write appends p, or fails when the output would pass the limit.
func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errOutputTooLong
	}
	return b.Buffer.Write(p)
}

func walkNode(n parse.Node, f func(parse.Node)) {
	if n == nil {
		return
	}
	f(n)
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkNode(c, f)
		}
	case *parse.ActionNode:
		walkNode(n.Pipe, f)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkNode(c, f)
		}
	case *parse.CommandNode:
		for _, c := range n.Args {
			walkNode(c, f)
		}
	case *parse.ChainNode:
		walkNode(n.Node, f)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, f)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, f)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, f)
	}
}

func walkBranch(b *parse.BranchNode, f func(parse.Node)) {
	walkNode(b.Pipe, f)
	if b.List != nil {
		walkNode(b.List, f)
	}
	if b.ElseList != nil {
		walkNode(b.ElseList, f)
	}
}

// dateLayouts are the ISO 8601 forms accepted in job fields.
var dateLayouts = [...]string{"2006-01-02", time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "20060102"}

// parseDate parses an ISO 8601 date or date-time.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("date %q is not ISO 8601 (YYYY-MM-DD)", clip(s))
}

// formatDate formats v (a time.Time or an ISO 8601 string) with a Go time
// layout: {{.date_of_birth | date "02 Jan 2006"}}. An empty string or zero
// time gives an empty string.
func formatDate(layout string, v any) (string, error) {
	var t time.Time
	switch v := v.(type) {
	case time.Time:
		t = v
	case string:
		if strings.TrimSpace(v) == "" {
			return "", nil
		}
		var err error
		if t, err = parseDate(v); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("date: cannot format %T", v)
	}
	if t.IsZero() {
		return "", nil
	}
	return t.Format(layout), nil
}

// defaultValue returns def when v is empty: {{.middle_name | default "-"}}.
func defaultValue(def string, v any) string {
	s := fmt.Sprint(v)
	if v == nil || strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// truncateRunes keeps the first n runes of s.
func truncateRunes(n int, s string) string {
	if n < 0 {
		n = 0
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// joinNonEmpty joins the non-empty strings with sep: {{join " " .given_names .surname}}.
func joinNonEmpty(sep string, parts ...string) string {
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// titleCase upper-cases the first letter of every word and lower-cases the
// rest (Unicode aware: "ØYVIND ÅSE" → "Øyvind Åse").
func titleCase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := true
	for _, r := range s {
		if unicode.IsLetter(r) {
			if start {
				b.WriteRune(unicode.ToTitle(r))
			} else {
				b.WriteRune(unicode.ToLower(r))
			}
			start = false
			continue
		}
		start = r == ' ' || r == '-' || r == '\''
		b.WriteRune(r)
	}
	return b.String()
}

// clip shortens s for messages.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return truncateRunes(max, s) + "…"
}
