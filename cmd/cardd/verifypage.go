package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/web"
)

// exportVerifyPage is "cardd verify --export-page FILE --trust LIST
// [--deny LIST]": it writes the officers' offline verifier page, one
// self-contained HTML file with both lists inside, atomically (a temporary
// file in the same directory, then a rename).
func exportVerifyPage(ctx context.Context, e *env, out, trustPath, denyPath string, nargs int) error {
	if nargs != 0 {
		return usageError{"--export-page takes no arguments"}
	}
	if trustPath == "" {
		return usageError{"--export-page needs --trust FILE: a page without a trust list would call every card unknown"}
	}
	trust, err := security.LoadTrustList(trustPath)
	if err != nil {
		return configError{Err: err}
	}
	if len(trust.Entries()) == 0 {
		return configError{Err: fmt.Errorf("trust list %s has no keys", trustPath)}
	}
	var deny *security.DenyList
	if denyPath != "" {
		if deny, err = security.LoadDenyList(denyPath); err != nil {
			return configError{Err: err}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return fmt.Errorf("export page %s: %w", out, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	werr := web.WritePage(tmp, web.PageOptions{Trust: trust, Deny: deny, Generated: time.Now()})
	if werr == nil {
		werr = tmp.Chmod(0o644)
	}
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), out)
	}
	if werr != nil {
		return fmt.Errorf("export page %s: %w", out, werr)
	}
	n := 0
	if deny != nil {
		n = len(deny.Serials)
	}
	fmt.Fprintf(e.stdout, "wrote %s: verifier page with %d trusted key(s) and %d revoked serial(s)\n", out, len(trust.Entries()), n)
	return nil
}
