package spool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cardd/cardd/spool/jobfile"
)

// Operator requests reach the daemon through the spool's control/
// directory, so "cardd jobs" needs neither a network port nor the daemon's
// privileges, only write access to control/ (group operators, 0770):
//
//  1. The CLI writes a request as control/.NAME.tmp and renames it to
//     control/NAME.req (NAME is a time stamp and random hex).
//  2. The daemon (on a watch hint or its rescan timer) reads each *.req,
//     applies it through the same functions as its own code, writes
//     control/NAME.res atomically and removes the request.
//  3. The CLI waits for NAME.res, prints it and removes it.
//
// A request left while no daemon runs is applied when one starts, so an
// action is never lost; the CLI says it is queued. Reading (jobs list,
// jobs show) needs no daemon: it replays the journal read-only.

// Actions a control request can ask for.
const (
	ActionHold    = "hold"
	ActionRelease = "release"
	ActionCancel  = "cancel"
	ActionConfirm = "confirm"
	ActionVoid    = "void"
	ActionReprint = "reprint"
	// ActionCloseBatch closes an open batch now; Job names the batch.
	ActionCloseBatch = "close-batch"
)

const maxRequestBytes = 4 << 10

// Request is one operator action.
type Request struct {
	// Action is one of the Action constants.
	Action string `json:"action"`
	// Job is the job reference: producer id or spool job number.
	Job string `json:"job"`
	// Reason explains the action (required for void, cancel, reprint).
	Reason string `json:"reason,omitempty"`
	// NewID is the id of the reprint job (reprint only).
	NewID string `json:"new_id,omitempty"`
	// By names the operator (the CLI fills in the user name).
	By string `json:"by,omitempty"`
}

// Response is the daemon's answer to a Request.
type Response struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// State is the job's state after the action.
	State State `json:"state,omitempty"`
	// Submitted names the reprint job's directory in incoming/.
	Submitted string    `json:"submitted,omitempty"`
	Time      time.Time `json:"time"`
}

// Validate checks a request read from the control directory.
func (r *Request) Validate() error {
	switch r.Action {
	case ActionHold, ActionRelease, ActionCancel, ActionConfirm, ActionVoid, ActionReprint, ActionCloseBatch:
	default:
		return fmt.Errorf("unknown action %q", clipText(r.Action))
	}
	if err := jobfile.ValidID(r.Job); err != nil {
		return fmt.Errorf("job: %w", err)
	}
	if err := jobfile.ValidText(r.Reason, jobfile.MaxReasonBytes); err != nil {
		return fmt.Errorf("reason: %w", err)
	}
	if err := jobfile.ValidText(r.By, 64); err != nil {
		return fmt.Errorf("by: %w", err)
	}
	needReason := r.Action == ActionVoid || r.Action == ActionCancel || r.Action == ActionReprint
	if needReason && strings.TrimSpace(r.Reason) == "" {
		return fmt.Errorf("%s needs a reason", r.Action)
	}
	if r.Action == ActionReprint {
		if err := jobfile.ValidID(r.NewID); err != nil {
			return fmt.Errorf("new_id: %w", err)
		}
	} else if r.NewID != "" {
		return errors.New("new_id is for reprint only")
	}
	return nil
}

// ParseRequest decodes and validates a control request.
func ParseRequest(data []byte) (*Request, error) {
	if len(data) > maxRequestBytes {
		return nil, fmt.Errorf("request of %d bytes, limit %d", len(data), maxRequestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Request
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("malformed request: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("malformed request: data after the object")
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// SendRequest queues a request in the control directory of the spool at
// root and returns its name for WaitResponse.
func SendRequest(root string, r *Request) (string, error) {
	if err := r.Validate(); err != nil {
		return "", fmt.Errorf("spool: request: %w", err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("spool: request: %w", err)
	}
	name := fmt.Sprintf("%d-%s", time.Now().UnixNano(), randHex(4))
	dir := filepath.Join(root, dirControl)
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := writeSynced(tmp, data); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("spool: request: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name+".req")); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("spool: request: %w", err)
	}
	return name, nil
}

// ErrNoResponse: the daemon did not answer in time (it may not be
// running); the request stays queued.
var ErrNoResponse = errors.New("spool: no response from the daemon yet")

// WaitResponse waits for the daemon's response to request name, polling
// every interval until ctx is done, and removes the response it read.
func WaitResponse(ctx context.Context, root, name string, interval time.Duration) (*Response, error) {
	path := filepath.Join(root, dirControl, name+".res")
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		data, err := jobfile.ReadFile(path, maxRequestBytes)
		if err == nil {
			var resp Response
			if err := json.Unmarshal(data, &resp); err != nil {
				return nil, fmt.Errorf("spool: response %s: %w", name, err)
			}
			os.Remove(path)
			return &resp, nil
		}
		if !errors.Is(err, jobfile.ErrMissing) {
			return nil, fmt.Errorf("spool: response %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (request %s)", ErrNoResponse, name)
		case <-t.C:
		}
	}
}

// ServeControl applies every queued control request and writes its
// response. It returns how many it handled.
func (s *Scheduler) ServeControl(ctx context.Context) (int, error) {
	dir := filepath.Join(s.sp.root, dirControl)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("spool: control: %w", err)
	}
	var names []string
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".req") && !strings.HasPrefix(n, ".") && e.Type().IsRegular() {
			names = append(names, strings.TrimSuffix(n, ".req"))
		}
	}
	sort.Strings(names) // time-stamped names: oldest first
	var errs []error
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		req := filepath.Join(dir, name+".req")
		resp := s.handle(ctx, req)
		data, _ := json.Marshal(resp)
		if err := writeFileAtomic(filepath.Join(dir, name+".res"), data, reasonPerm|0o020, !s.sp.opts.NoSync); err != nil {
			errs = append(errs, fmt.Errorf("spool: control %s: %w", name, err))
			continue
		}
		if err := os.Remove(req); err != nil {
			errs = append(errs, fmt.Errorf("spool: control %s: %w", name, err))
		}
	}
	return len(names), errors.Join(errs...)
}

func (s *Scheduler) handle(ctx context.Context, path string) Response {
	resp := Response{Time: s.now()}
	data, err := jobfile.ReadFile(path, maxRequestBytes)
	var r *Request
	if err == nil {
		r, err = ParseRequest(data)
	}
	if err != nil {
		resp.Error = err.Error()
		s.log.Warn("control request refused", "request", filepath.Base(path), "err", err)
		return resp
	}
	reason := r.Reason
	if r.By != "" {
		reason = strings.TrimSpace(reason + " (by " + r.By + ")")
	}
	switch r.Action {
	case ActionHold:
		err = s.Hold(ctx, r.Job, reason)
	case ActionRelease:
		// A release with a reason of a job held by an intake check is
		// the override of that check.
		if j, ferr := s.find(r.Job); ferr == nil && j.Checked && strings.TrimSpace(r.Reason) != "" {
			err = s.Override(ctx, r.Job, reason)
		} else {
			err = s.Release(ctx, r.Job)
		}
	case ActionCancel:
		err = s.Cancel(ctx, r.Job, reason)
	case ActionConfirm:
		err = s.Confirm(ctx, r.Job, reason)
	case ActionVoid:
		err = s.Void(ctx, r.Job, reason)
	case ActionReprint:
		resp.Submitted, err = s.Reprint(ctx, r.Job, r.NewID, r.Reason)
	case ActionCloseBatch:
		err = s.CloseBatch(r.Job, reason)
	}
	s.log.Info("control request", "action", r.Action, "job", r.Job, "by", r.By, "err", err)
	if err != nil {
		resp.Error = err.Error()
		return resp
	}
	resp.OK = true
	if r.Action == ActionCloseBatch {
		return resp
	}
	ref := r.Job
	if r.Action == ActionReprint {
		ref = r.NewID
	}
	if j, err := s.sp.Job(ref); err == nil {
		resp.State = j.State
	}
	return resp
}

func clipText(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
