package layout

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestExprEval(t *testing.T) {
	d := &Data{
		JobID:    "J-1",
		Serial:   "EX0001",
		CardType: CardTemporary,
		IssuedAt: time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC),
		Expires:  time.Date(2026, 12, 27, 0, 0, 0, 0, time.UTC),
		Fields: map[string]string{
			"surname":       "Ødegård-Núñez",
			"given_names":   "zoë FRANÇOISE",
			"date_of_birth": "1987-03-14",
			"stamp":         "2020-02-29T23:59:59Z",
			"empty":         "",
			"street":        "Weißstraße",
		},
	}
	tests := []struct{ src, want string }{
		{"plain text", "plain text"},
		{"{{.surname | upper}}", "ØDEGÅRD-NÚÑEZ"},
		{"{{.street | upper}}", "WEIßSTRAßE"},
		{"{{.given_names | title}}", "Zoë Françoise"},
		{"{{.surname | lower}}", "ødegård-núñez"},
		{`{{.date_of_birth | date "02 Jan 2006"}}`, "14 Mar 1987"},
		{`{{.date_of_birth | date "02.01.2006"}}`, "14.03.1987"},
		{`{{.stamp | date "2006-01-02 15:04"}}`, "2020-02-29 23:59"},
		{`{{.Expires | date "02 Jan 2006" | upper}}`, "27 DEC 2026"},
		{`{{.IssuedAt | date "2006-01-02"}}`, "2026-11-27"},
		{`{{.empty | date "2006"}}`, ""},
		{`{{.empty | default "—"}}`, "—"},
		{`{{.surname | default "—"}}`, "Ødegård-Núñez"},
		{`{{.surname | truncate 3}}`, "Øde"},
		{`{{join " " .given_names .empty .surname}}`, "zoë FRANÇOISE Ødegård-Núñez"},
		{"{{.Serial}}/{{.JobID}}/{{.CardType}}", "EX0001/J-1/temporary"},
		{"{{if .empty}}x{{else}}y{{end}}", "y"},
		{"{{ .surname | printf \"%.3s\" }}", "Øde"},
	}
	for _, tc := range tests {
		e, err := CompileExpr(tc.src)
		if err != nil {
			t.Errorf("CompileExpr(%q): %v", tc.src, err)
			continue
		}
		got, err := e.Eval(d)
		if err != nil || got != tc.want {
			t.Errorf("Eval(%q) = %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
}

func TestExprErrors(t *testing.T) {
	d := &Data{Fields: map[string]string{"dob": "14/03/1987", "n": "x"}}
	tests := []struct {
		src     string
		compile bool // fails at compile time
		is      error
		want    string
	}{
		{"{{.surname}}", false, ErrMissingField, `field "surname"`},
		{"{{.dob | date \"2006\"}}", false, nil, "ISO 8601"},
		{"{{.n | nosuch}}", true, nil, "nosuch"},
		{"{{template \"x\"}}", true, nil, "not allowed"},
		{"{{define \"x\"}}a{{end}}", true, nil, "not allowed"},
		{"{{range .n}}{{end}}", true, nil, "not allowed"},
		{"{{call .n}}", true, nil, "not allowed"},
		{"{{.n", true, nil, "unclosed"},
		{strings.Repeat("a", MaxExprLen+1), true, nil, "limit"},
		{"{{printf \"%0999999d\" 1}}", false, nil, "longer than"},
	}
	for _, tc := range tests {
		e, err := CompileExpr(tc.src)
		if tc.compile {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CompileExpr(%.40q) = %v, want error containing %q", tc.src, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("CompileExpr(%q): %v", tc.src, err)
			continue
		}
		_, err = e.Eval(d)
		if err == nil || !strings.Contains(err.Error(), tc.want) || tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("Eval(%q) = %v, want error containing %q", tc.src, err, tc.want)
		}
	}
}

func TestExprFields(t *testing.T) {
	e, err := CompileExpr(`{{if .b}}{{.a | upper}}{{end}}{{join " " .c .a}}{{$.d}}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.Fields(), ","); got != "a,b,c,d" {
		t.Errorf("Fields() = %s", got)
	}
}

func FuzzExpr(f *testing.F) {
	for _, s := range []string{"{{.surname | upper}}", `{{.dob | date "02 Jan 2006"}}`, "{{join \" \" .a .b}}", "{{.x | truncate 2 | title}}", "{{if .a}}{{.b}}{{end}}", "x{{", `{{.a | default "-"}}`} {
		f.Add(s, "Zoë", "1987-03-14")
	}
	f.Fuzz(func(t *testing.T, src, a, b string) {
		e, err := CompileExpr(src)
		if err != nil {
			return
		}
		d := &Data{Fields: map[string]string{"a": a, "b": b, "surname": a, "dob": b, "x": a}, Expires: time.Unix(1e9, 0)}
		out, err := e.Eval(d)
		if err == nil && len(out) > MaxExprOutput {
			t.Fatalf("output of %d bytes", len(out))
		}
	})
}
