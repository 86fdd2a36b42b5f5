package network

import "fmt"

// Permissions are the subjects a site's NATS user may publish to and
// subscribe to; everything else is denied. Package network/hub turns them
// into server users and into a nats-server configuration.
type Permissions struct {
	Publish   []string
	Subscribe []string
}

// PermissionsFor returns the permissions of site in role.
//
// A field office O may publish only its own requests (cardd.req.O.*), its
// own revocations ($KV.cardd_revoked.O.>) and its own checkpoints
// (cardd.ckpt.O); read events only through its own durable consumer evt_O,
// whose filter cardd.evt.O.> is part of the API subject it may use (the
// server refuses a create request whose body filter differs from the
// subject's); read its own latest checkpoint; follow the revocations
// bucket (public to every station); and receive replies only under its own
// inbox prefix; register its serial station code under its own key
// ($KV.cardd_stations.CODE.O, see RegisterStationCode) and read the other
// registrations (codes and host names, no personal data). It has no
// subject of the request stream's API: it can neither read nor consume
// requests, its own included; nor any of the central hosts' batch
// summaries (BucketBatches): it can neither read nor write them.
//
// A central host may use the whole JetStream API (it takes requests, sets
// up streams and buckets, records taken requests, station codes and its
// batch summaries, and reads the facility's report) and publish under
// cardd.>; it too receives replies only under its own inbox.
func PermissionsFor(site string, role Role) (Permissions, error) {
	if err := SiteName(site); err != nil {
		return Permissions{}, err
	}
	inbox := InboxPrefix(site) + ".>"
	switch role {
	case RoleFieldOffice:
		evt := EventsConsumer(site)
		revoked := "KV_" + BucketRevoked
		stations := "KV_" + BucketStations
		return Permissions{
			Publish: []string{
				subjRequests + "." + site + ".*",
				"$JS.API.CONSUMER.CREATE." + StreamEvents + "." + evt + "." + subjEvents + "." + site + ".>",
				"$JS.API.CONSUMER.INFO." + StreamEvents + "." + evt,
				"$JS.API.CONSUMER.MSG.NEXT." + StreamEvents + "." + evt,
				"$JS.ACK." + StreamEvents + "." + evt + ".>",
				"$KV." + BucketRevoked + "." + site + ".>",
				"$JS.API.STREAM.INFO." + revoked,
				"$JS.API.CONSUMER.CREATE." + revoked + ".>",
				"$JS.API.CONSUMER.INFO." + revoked + ".>",
				"$JS.API.CONSUMER.MSG.NEXT." + revoked + ".>",
				"$JS.API.CONSUMER.DELETE." + revoked + ".>",
				stationsPrefix + "*." + site,
				"$JS.API.STREAM.INFO." + stations,
				"$JS.API.CONSUMER.CREATE." + stations + ".>",
				"$JS.API.CONSUMER.INFO." + stations + ".>",
				"$JS.API.CONSUMER.MSG.NEXT." + stations + ".>",
				"$JS.API.CONSUMER.DELETE." + stations + ".>",
				CheckpointSubject(site),
				"$JS.API.DIRECT.GET." + StreamCheckpoints + "." + CheckpointSubject(site),
			},
			Subscribe: []string{inbox},
		}, nil
	case RoleCentral:
		return Permissions{
			Publish:   []string{"$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$KV.>", "cardd.>"},
			Subscribe: []string{inbox},
		}, nil
	}
	return Permissions{}, fmt.Errorf("site %s: %w", site, role.Valid())
}
