package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// PubQueue is a durable queue of messages for the hub: events, deny-list
// entries and checkpoints that a station must not lose while the hub is
// unreachable. Each message is a file (SEQ.msg: the subject, the message
// id and the data), written with fsync and an atomic rename; Run publishes
// them in order and removes each once the hub has stored it. Callers never
// wait for the hub: Add returns once the message is on disk.
type PubQueue struct {
	dir string
	log *slog.Logger

	mu   sync.Mutex
	next uint64
	n    int
	wake chan struct{}
}

// OpenPubQueue opens (creating) the queue in dir.
func OpenPubQueue(dir string, log *slog.Logger) (*PubQueue, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("network: queue: %w", err)
	}
	q := &PubQueue{dir: dir, log: log, next: 1, wake: make(chan struct{}, 1)}
	names, err := q.list(true)
	if err != nil {
		return nil, err
	}
	q.n = len(names)
	if len(names) > 0 {
		seq, _ := strconv.ParseUint(strings.TrimSuffix(names[len(names)-1], ".msg"), 10, 64)
		q.next = seq + 1
	}
	return q, nil
}

// list returns the queued files, oldest first; at open (clean) it removes
// the temporaries of writes a crash interrupted.
func (q *PubQueue) list(clean bool) ([]string, error) {
	ents, err := os.ReadDir(q.dir)
	if err != nil {
		return nil, fmt.Errorf("network: queue: %w", err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			if clean {
				os.Remove(filepath.Join(q.dir, n))
			}
			continue
		}
		if strings.HasSuffix(n, ".msg") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Add queues one message durably.
func (q *PubQueue) Add(subject, msgID string, data []byte) error {
	if strings.ContainsAny(subject, " \n") || strings.ContainsAny(msgID, "\n") {
		return fmt.Errorf("%w: queue: bad subject or message id", ErrInvalid)
	}
	var b bytes.Buffer
	b.WriteString(subject)
	b.WriteByte('\n')
	b.WriteString(msgID)
	b.WriteByte('\n')
	b.Write(data)
	q.mu.Lock()
	defer q.mu.Unlock()
	name := fmt.Sprintf("%016d.msg", q.next)
	if err := writeAtomic(q.dir, name, b.Bytes()); err != nil {
		return fmt.Errorf("network: queue %s: %w", subject, err)
	}
	q.next++
	q.n++
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// Len is the number of messages waiting.
func (q *PubQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Run publishes the queue through js until ctx ends, retrying each message
// until the hub stores it.
func (q *PubQueue) Run(ctx context.Context, js jetstream.JetStream) error {
	backoff := 100 * time.Millisecond
	for {
		names, err := q.list(false)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-q.wake:
				continue
			}
		}
		progress := false
		for _, name := range names {
			if err := q.publish(ctx, js, name); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				q.log.Warn("hub did not store a message; retrying", "file", name, "retry_in", backoff, "err", err)
				break
			}
			progress = true
			backoff = 100 * time.Millisecond
		}
		if !progress {
			if !sleepCtx(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, 10*time.Second)
		}
	}
}

func (q *PubQueue) publish(ctx context.Context, js jetstream.JetStream, name string) error {
	path := filepath.Join(q.dir, name)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	subj, rest, ok1 := bytes.Cut(raw, []byte("\n"))
	id, data, ok2 := bytes.Cut(rest, []byte("\n"))
	if !ok1 || !ok2 || len(subj) == 0 {
		q.log.Error("queue: damaged message file removed", "file", path)
		return q.remove(name)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var opts []jetstream.PublishOpt
	if len(id) > 0 {
		opts = append(opts, jetstream.WithMsgID(string(id)))
	}
	if _, err := js.Publish(pctx, string(subj), data, opts...); err != nil {
		return err
	}
	return q.remove(name)
}

func (q *PubQueue) remove(name string) error {
	if err := os.Remove(filepath.Join(q.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	q.mu.Lock()
	q.n--
	q.mu.Unlock()
	return syncDir(q.dir)
}
