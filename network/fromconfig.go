package network

import (
	"fmt"

	"github.com/cardd/cardd/config"
)

// ConnOptionsFromConfig returns how a station with configuration cfg
// (which must have a [network] table) connects to its hub: the hub URLs
// (the embedded hub's listen address when none are given) and the
// credentials of the [network] table.
func ConnOptionsFromConfig(cfg *config.Config) (ConnOptions, error) {
	n := cfg.Network
	if n == nil {
		return ConnOptions{}, fmt.Errorf("network: the configuration has no [network] table")
	}
	o := ConnOptions{
		URLs:         n.HubURLs,
		Site:         n.Site,
		Role:         Role(n.Role),
		NKeySeedFile: n.NKeySeed,
		CredsFile:    n.Credentials,
		CAFile:       n.TLSCA,
		CertFile:     n.TLSCert,
		KeyFile:      n.TLSKey,
	}
	if len(o.URLs) == 0 && n.EmbeddedHub {
		scheme := "nats://"
		if n.HubTLSCert != "" {
			scheme = "tls://"
		}
		o.URLs = []string{scheme + n.HubListen}
	}
	return o, nil
}

// StationName is the name under which a station publishes its audit
// checkpoints: a field office's site name, a central host's station id
// (the hosts of the central site each keep their own audit log).
func StationName(cfg *config.Config) (string, error) {
	if cfg.Network == nil {
		return "", fmt.Errorf("network: the configuration has no [network] table")
	}
	name := cfg.Network.Site
	if Role(cfg.Network.Role) == RoleCentral {
		name = cfg.Station.ID
	}
	if err := SiteName(name); err != nil {
		return "", fmt.Errorf("network: station name for checkpoints (station.id at a central host): %w", err)
	}
	return name, nil
}
