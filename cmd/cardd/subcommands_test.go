package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
)

func TestSubcommandsDispatch(t *testing.T) {
	var (
		gotArgs []string
		called  bool
	)
	subs := subcommands{
		help:    func(e *env) { e.stderr.Write([]byte("HELP\n")) },
		missing: "missing subcommand (run)",
		unknown: "unknown demo subcommand %q (want run)",
		table: map[string]func(context.Context, *env) error{
			"run": func(_ context.Context, e *env) error {
				gotArgs, called = e.args, true
				return nil
			},
		},
	}
	tests := []struct {
		name     string
		args     []string
		wantErr  error  // matched with errors.Is; nil: want nil or a usageError
		wantMsg  string // the usage error's text, if one is wanted
		wantHelp bool
		wantArgs []string
	}{
		{name: "none", args: nil, wantMsg: "missing subcommand (run)", wantHelp: true},
		{name: "-h", args: []string{"-h"}, wantErr: errHelp, wantHelp: true},
		{name: "--help", args: []string{"--help", "run"}, wantErr: errHelp, wantHelp: true},
		{name: "-help", args: []string{"-help"}, wantErr: errHelp, wantHelp: true},
		{name: "unknown", args: []string{"walk", "x"}, wantMsg: `unknown demo subcommand "walk" (want run)`},
		{name: "run", args: []string{"run", "--json", "A"}, wantArgs: []string{"--json", "A"}},
		{name: "run without args", args: []string{"run"}, wantArgs: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gotArgs, called = nil, false
			var stderr bytes.Buffer
			e := &env{args: tc.args, stdout: &bytes.Buffer{}, stderr: &stderr}
			err := subs.dispatch(context.Background(), e)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			case tc.wantMsg != "":
				var ue usageError
				if !errors.As(err, &ue) || ue.msg != tc.wantMsg {
					t.Fatalf("err = %#v, want usageError %q", err, tc.wantMsg)
				}
			default:
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
			}
			if got := stderr.String() == "HELP\n"; got != tc.wantHelp {
				t.Errorf("help printed = %v (stderr %q), want %v", got, stderr.String(), tc.wantHelp)
			}
			if called != (tc.wantArgs != nil) {
				t.Errorf("subcommand called = %v, want %v", called, tc.wantArgs != nil)
			}
			if called && !slices.Equal(gotArgs, tc.wantArgs) {
				t.Errorf("subcommand args = %q, want %q", gotArgs, tc.wantArgs)
			}
			if len(tc.args) > 0 && !slices.Equal(e.args, tc.args) {
				t.Errorf("caller's args changed to %q", e.args)
			}
		})
	}
}
