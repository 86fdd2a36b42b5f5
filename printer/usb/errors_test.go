//go:build cgo

package usb

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/gousb"

	"github.com/cardd/cardd/printer"
)

func TestMapErr(t *testing.T) {
	t.Parallel()
	other := errors.New("something else")
	tests := []struct {
		name string
		in   error
		want error // sentinel expected, nil for none
	}{
		{"libusb no device", gousb.ErrorNoDevice, printer.ErrNoDevice},
		{"libusb busy", gousb.ErrorBusy, printer.ErrBusy},
		{"libusb timeout", gousb.ErrorTimeout, printer.ErrTimeout},
		{"libusb pipe", gousb.ErrorPipe, printer.ErrStall},
		{"transfer no device", gousb.TransferNoDevice, printer.ErrNoDevice},
		{"transfer timed out", gousb.TransferTimedOut, printer.ErrTimeout},
		{"transfer stall", gousb.TransferStall, printer.ErrStall},
		{"gousb %v-wrapped busy", fmt.Errorf("failed to claim interface 0 on x: %v", gousb.ErrorBusy), printer.ErrBusy},
		{"gousb %v-wrapped no device", fmt.Errorf("failed to set active config 1 for the device x: %v", gousb.ErrorNoDevice), printer.ErrNoDevice},
		{"%w-wrapped transfer status", fmt.Errorf("ctx: %w", gousb.TransferNoDevice), printer.ErrNoDevice},
		{"unrelated", other, nil},
		{"transfer error", gousb.TransferError, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := mapErr(tc.in)
			if !errors.Is(got, tc.in) {
				t.Errorf("mapErr lost the original error: %v", got)
			}
			for _, s := range []error{printer.ErrNoDevice, printer.ErrBusy, printer.ErrTimeout, printer.ErrStall} {
				if errors.Is(got, s) != (s == tc.want) {
					t.Errorf("errors.Is(mapErr(%v), %v) = %v, want %v", tc.in, s, errors.Is(got, s), s == tc.want)
				}
			}
		})
	}
	if mapErr(nil) != nil {
		t.Error("mapErr(nil) != nil")
	}
}

func TestTransferErr(t *testing.T) {
	t.Parallel()
	caller, cancelCaller := context.WithCancel(context.Background())
	cancelCaller()
	expired, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	live := context.Background()

	if err := transferErr(caller, caller, gousb.TransferCancelled); !errors.Is(err, context.Canceled) || errors.Is(err, printer.ErrTimeout) {
		t.Errorf("cancelled by caller: got %v, want context.Canceled", err)
	}
	if err := transferErr(live, expired, gousb.TransferCancelled); !errors.Is(err, printer.ErrTimeout) {
		t.Errorf("cancelled by transfer timer: got %v, want ErrTimeout", err)
	}
	if err := transferErr(live, live, gousb.TransferNoDevice); !errors.Is(err, printer.ErrNoDevice) {
		t.Errorf("no device: got %v", err)
	}
	if err := transferErr(live, live, nil); err != nil {
		t.Errorf("nil: got %v", err)
	}
}
