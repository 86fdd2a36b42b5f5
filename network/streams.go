package network

import (
	"context"
	"fmt"
	"time"

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
func EnsureStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions) error {
	for _, cfg := range StreamConfigs(o) {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("network: stream %s: %w", cfg.Name, err)
		}
	}
	for _, cfg := range BucketConfigs(o) {
		if _, err := js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			return fmt.Errorf("network: bucket %s: %w", cfg.Bucket, err)
		}
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, StreamRequests, takerConsumerConfig()); err != nil {
		return fmt.Errorf("network: consumer %s on %s: %w", TakerConsumer, StreamRequests, err)
	}
	return nil
}

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
