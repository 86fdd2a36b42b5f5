package network

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamOptions size the hub's streams and buckets.
type StreamOptions struct {
	// Replicas is the replication factor of every stream and bucket: 1 on
	// a single (embedded) server, 3 on a three-node cluster.
	Replicas int
	// RequestsMaxBytes bounds the request queue (0: unlimited). When it is
	// full the hub refuses new requests; offices keep them in their
	// outboxes and retry.
	RequestsMaxBytes int64
	// DuplicateWindow is how long the hub remembers request message ids
	// (default 10 minutes). Repeats after it are still caught: by the
	// one-message-per-subject limit while queued, by cardd_taken after.
	DuplicateWindow time.Duration
	// EventsMaxAge is how long events stay on the hub for offices that
	// were away (default 30 days).
	EventsMaxAge time.Duration
	// CheckpointsPerStation is how many checkpoints of each station the
	// hub keeps (default 1000).
	CheckpointsPerStation int64
	// APITimeout is how long EnsureStreams waits for the reply to one
	// request before it sends it again (default 10 seconds).
	APITimeout time.Duration
}

func (o StreamOptions) withDefaults() StreamOptions {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.DuplicateWindow <= 0 {
		o.DuplicateWindow = 10 * time.Minute
	}
	if o.EventsMaxAge <= 0 {
		o.EventsMaxAge = 30 * 24 * time.Hour
	}
	if o.CheckpointsPerStation <= 0 {
		o.CheckpointsPerStation = 1000
	}
	if o.APITimeout <= 0 {
		o.APITimeout = 10 * time.Second
	}
	if o.RequestsMaxBytes == 0 {
		o.RequestsMaxBytes = -1
	}
	return o
}

// StreamConfigs returns the configurations of the three streams.
func StreamConfigs(o StreamOptions) []jetstream.StreamConfig {
	o = o.withDefaults()
	return []jetstream.StreamConfig{
		{
			Name:                 StreamRequests,
			Description:          "cardd: permanent card requests from field offices (work queue)",
			Subjects:             []string{subjRequests + ".*.*"},
			Retention:            jetstream.WorkQueuePolicy,
			MaxMsgsPerSubject:    1,
			Discard:              jetstream.DiscardNew,
			DiscardNewPerSubject: true,
			MaxBytes:             o.RequestsMaxBytes,
			MaxMsgSize:           MaxRequestBytes,
			Duplicates:           o.DuplicateWindow,
			Storage:              jetstream.FileStorage,
			Replicas:             o.Replicas,
			DenyDelete:           false,
		},
		{
			Name:        StreamEvents,
			Description: "cardd: outcomes of forwarded requests (no personal data)",
			Subjects:    []string{subjEvents + ".*.*"},
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      o.EventsMaxAge,
			MaxMsgSize:  MaxEventBytes,
			Duplicates:  2 * time.Minute,
			Storage:     jetstream.FileStorage,
			Replicas:    o.Replicas,
		},
		{
			Name:              StreamCheckpoints,
			Description:       "cardd: audit log checkpoints of every station (witness)",
			Subjects:          []string{subjCheckpoints + ".*"},
			Retention:         jetstream.LimitsPolicy,
			MaxMsgsPerSubject: o.CheckpointsPerStation,
			MaxMsgSize:        MaxEventBytes,
			Storage:           jetstream.FileStorage,
			Replicas:          o.Replicas,
			DenyDelete:        true,
			DenyPurge:         true,
			AllowDirect:       true,
		},
	}
}

// BucketConfigs returns the configurations of the key-value buckets.
func BucketConfigs(o StreamOptions) []jetstream.KeyValueConfig {
	o = o.withDefaults()
	return []jetstream.KeyValueConfig{
		{Bucket: BucketTaken, Description: "cardd: which central host took each request", MaxValueSize: 1024, Storage: jetstream.FileStorage, Replicas: o.Replicas},
		{Bucket: BucketRevoked, Description: "cardd: deny-list entries shared by every station", MaxValueSize: 1024, Storage: jetstream.FileStorage, Replicas: o.Replicas},
		{Bucket: BucketStations, Description: "cardd: serial station code of each station (CODE.SITE; the oldest holds the code)", MaxValueSize: 1024, Storage: jetstream.FileStorage, Replicas: o.Replicas},
		// No age limit: the facility's card accounting outlives the events.
		{Bucket: BucketBatches, Description: "cardd: each central host's batch summaries (batch.HOST.BATCH) and last publication (host.HOST); no personal data", History: 1, MaxValueSize: MaxSummaryBytes, Storage: jetstream.FileStorage, Replicas: o.Replicas},
	}
}

// EnsureStreams creates the hub's streams, buckets and the central hosts'
// shared consumer, or updates them to o; running it again changes
// nothing. It needs the central role's permissions.
//
// A cluster that has just started answers some requests late or never
// (while it elects its meta leader, a request gets no reply; while peers
// join, an R3 stream finds no placement), so each step waits at most
// o.APITimeout for a reply and is sent again, with a growing pause, after
// such a transient failure, until it has failed five times and for three
// times o.APITimeout (30 seconds by default; then the last failure is
// returned, for the caller to log and call again) or until ctx ends. The
// steps are idempotent: a step that was carried out but whose reply was
// lost finds its result in place the next time. A refusal that waiting
// does not change (a conflicting configuration, a permission) is returned
// at once.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions) error {
	o = o.withDefaults()
	for _, cfg := range StreamConfigs(o) {
		err := ensureStep(ctx, o.APITimeout, func(ctx context.Context) error {
			_, err := js.CreateOrUpdateStream(ctx, cfg)
			return err
		})
		if err != nil {
			return fmt.Errorf("network: stream %s: %w", cfg.Name, err)
		}
	}
	for _, cfg := range BucketConfigs(o) {
		err := ensureStep(ctx, o.APITimeout, func(ctx context.Context) error {
			_, err := js.CreateOrUpdateKeyValue(ctx, cfg)
			return err
		})
		if err != nil {
			return fmt.Errorf("network: bucket %s: %w", cfg.Bucket, err)
		}
	}
	err := ensureStep(ctx, o.APITimeout, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateConsumer(ctx, StreamRequests, takerConsumerConfig())
		return err
	})
	if err != nil {
		return fmt.Errorf("network: consumer %s on %s: %w", TakerConsumer, StreamRequests, err)
	}
	return nil
}

// ensureStep runs step with at most timeout for each attempt, again after
// a transient failure, until it succeeds, fails for good, has failed five
// times and for three times timeout, or ctx ends. The error after ctx
// ended names the last attempt's failure.
func ensureStep(ctx context.Context, timeout time.Duration, step func(context.Context) error) error {
	pause := 50 * time.Millisecond
	giveUp := time.Now().Add(3 * timeout)
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, timeout)
		err := step(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (attempt %d: %v)", ctx.Err(), attempt, err)
		}
		if !transientSetupError(err) {
			return err
		}
		if attempt >= 5 && time.Now().After(giveUp) {
			return fmt.Errorf("no success in %d attempts: %w", attempt, err)
		}
		if !sleepCtx(ctx, pause) {
			return fmt.Errorf("%w (attempt %d: %v)", ctx.Err(), attempt, err)
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// transientSetupError reports a failure of a JetStream API request that a
// later attempt may not meet: no reply in time (no meta leader yet, a lost
// reply, a reconnect), nobody answering yet, or the cluster saying it is
// temporarily unavailable, short of resources or without placement for
// the replicas (peers still joining).
func transientSetupError(err error) bool {
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected):
		return true
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case jsErrCodeClusterNoPeers, jsErrCodeInsufficientResources, jsErrCodeClusterNotAvailable:
		return true
	case jetstream.JSErrCodeJetStreamNotEnabledForAccount:
		return false
	}
	return apiErr.Code == 503
}

// JetStream API error codes (nats-server's errors.json) that
// transientSetupError names and the client package has no constant for.
const (
	jsErrCodeClusterNoPeers        jetstream.ErrorCode = 10005 // no suitable peers for placement
	jsErrCodeClusterNotAvailable   jetstream.ErrorCode = 10008 // JetStream system temporarily unavailable
	jsErrCodeInsufficientResources jetstream.ErrorCode = 10023 // insufficient resources
)

// takerConsumerConfig is the shared pull consumer of the central hosts.
// AckWait is short so that a host that died mid-take hands the request
// on soon; a live host extends it with InProgress while it works.
func takerConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       TakerConsumer,
		Description:   "cardd: central hosts take permanent requests",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 1000,
		FilterSubject: subjRequests + ".*.*",
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}
