//go:build !cgo

package usb

import (
	"context"
	"errors"
	"testing"
)

func TestWithoutCgo(t *testing.T) {
	if _, err := List(context.Background(), nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("List: %v, want ErrUnavailable", err)
	}
	if _, err := Open(context.Background(), Selector{VID: VendorEvolis}, Opts{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open: %v, want ErrUnavailable", err)
	}
}
