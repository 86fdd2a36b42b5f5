package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// cmdVersion is "cardd version": the build's version and Go version.
func cmdVersion(_ context.Context, e *env) error {
	fs := newFlagSet(e, "version", "", "Prints cardd's version (module version, VCS revision) and the Go version it was built with.")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"no arguments expected"}
	}
	info, ok := debug.ReadBuildInfo()
	writeVersion(e.stdout, info, ok)
	return nil
}

// writeVersion prints the version lines for a build's info (ok false when
// the binary carries none).
func writeVersion(w io.Writer, info *debug.BuildInfo, ok bool) {
	version := "unknown"
	goVersion := runtime.Version()
	var rev, when string
	modified := false
	if ok && info != nil {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	fmt.Fprintf(w, "cardd %s\n", version)
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if modified {
			rev += " (modified)"
		}
		if when != "" {
			rev += " " + when
		}
		fmt.Fprintf(w, "revision %s\n", rev)
	}
	fmt.Fprintf(w, "go %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
}
