package network_test

import (
	"testing"

	"github.com/cardd/cardd/internal/netbench"
	"github.com/cardd/cardd/network"
)

func benchSites(b *testing.B) netbench.Sites {
	h := startHub(b, b.TempDir(), 0)
	return netbench.Sites{
		Office:  network.ConnOptions{URLs: []string{h.ClientURL()}, Site: "office-a", Role: network.RoleFieldOffice, User: "office-a", Password: "pa"},
		Central: network.ConnOptions{URLs: []string{h.ClientURL()}, Site: "central", Role: network.RoleCentral, User: "central", Password: "pc"},
	}
}

// BenchmarkForwardClaim: requests forwarded by an office and taken by a
// central host per second, on an embedded hub on loopback: into the
// central spool directory (spool), and into memory (network: the outbox,
// hub, taken record, event and ack without the spool's file writes).
func BenchmarkForwardClaim(b *testing.B) {
	b.Run("spool", func(b *testing.B) { netbench.Throughput(b, benchSites(b)) })
	b.Run("network", func(b *testing.B) {
		s := benchSites(b)
		s.MemoryIntake = true
		netbench.Throughput(b, s)
	})
}

// BenchmarkForwardLatency: office Enqueue → durable in the central spool.
func BenchmarkForwardLatency(b *testing.B) { netbench.Latency(b, benchSites(b)) }
