// Package facility holds the issuance network's whole-system tests and
// measurements: field offices and central hosts as separate processes on a
// real 3-node nats-server cluster (internal/natstest), with faults during
// the run, and the benchmarks and load measurements of the hub.
//
// It has no code of its own beyond helpers for its tests.
package facility
