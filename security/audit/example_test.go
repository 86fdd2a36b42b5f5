package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cardd/cardd/security/audit"
)

// The issuance pipeline's use of the log: issue, spoil and reprint, then
// verify the chain and export the deny list for verifiers.
func Example() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.log")
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	l, err := audit.Open(path, func() time.Time { return clock }, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	l.Issued(ctx, "EXMP-01-0000001-K", "JOB-1", "permanent", "evolis-1", "QR TEXT 1")
	l.Spoiled(ctx, "EXMP-01-0000001-K", "evolis-1", "ribbon wrinkle")
	l.Issued(ctx, "EXMP-01-0000002-M", "JOB-1", "permanent", "evolis-1", "QR TEXT 2")
	l.Reprinted(ctx, "EXMP-01-0000002-M", "EXMP-01-0000001-K", "JOB-1", "spoiled")
	l.Close()

	st, err := audit.VerifyFile(path)
	fmt.Println(st.Records, err)
	b, _ := os.ReadFile(path)
	deny, _ := audit.DenyList(bytes.NewReader(b), clock)
	fmt.Println(deny.Serials)
	// Output:
	// 4 <nil>
	// [EXMP-01-0000001-K]
}
