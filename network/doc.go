// Package network joins cardd stations into one issuance network over NATS
// JetStream: field offices forward requests for permanent cards to a hub,
// central hosts take them from one shared work queue, and outcomes,
// revocations and audit checkpoints flow back through the hub.
//
// # Sites and roles
//
// Every station is a site with a unique name (SiteName rules: 1–32 of
// A–Z a–z 0–9 _ -, starting with a letter or digit) and a role:
// RoleFieldOffice prints temporary cards and forwards permanent requests;
// RoleCentral takes requests and prints permanent cards. The hub (package
// network/hub) gives each site a NATS user whose permissions (Permissions)
// confine it to its own subjects.
//
// # What flows where
//
//	cardd.req.OFFICE.TOKEN   stream CARDD_REQUESTS  office → central   job data and photo; work queue:
//	                                                                    gone from the hub once taken
//	cardd.evt.OFFICE.TOKEN   stream CARDD_EVENTS    central → office   outcome events: ids, serials,
//	                                                                    host, kind, time, reason only
//	cardd.ckpt.STATION       stream CARDD_CHECKPOINTS station → hub    audit log checkpoints (witness)
//	$KV.cardd_taken.OFFICE.TOKEN    bucket cardd_taken      central    "taken by host H" (create-only)
//	$KV.cardd_revoked.STATION.SERIAL bucket cardd_revoked  any → all   shared deny-list entries
//	$KV.cardd_stations.CODE         bucket cardd_stations   central    serial station code → host
//	$KV.cardd_batches.batch.HOST.BATCH bucket cardd_batches central → hub  batch summaries (figures,
//	$KV.cardd_batches.host.HOST                                         no personal data; no age
//	                                                                    limit) and the host's last
//	                                                                    publication; central only
//
// TOKEN is the job id with '.' written as '=' (JobToken), so that one job
// is one subject token; job ids never contain '='.
//
// # Guarantees
//
// A field office writes each request to a durable outbox (a checksummed
// record appended to a log in its state directory and fsynced; see
// Outbox) before anything else and publishes it
// with the message id OFFICE/JOBID until the hub acknowledges it; the hub
// keeps at most one message per subject (MaxMsgsPerSubject 1, DiscardNew
// per subject) and drops a repeat inside its duplicate window, so it never
// holds two copies. A central host records "taken by host H, message
// SEQ" in cardd_taken (create-only, one write per request) before it takes
// a request into its spool; once the job is in the spool it stores the
// "received" event, and only then acknowledges the message. The record
// is never updated: the hub itself shows that H took the request for good
// (TakenForGood): the claimed message is gone from the work queue (acked
// after the spool commit; a later copy is another message), or H's event
// about the job is stored (a redelivery after a lost ack). A copy of a
// request taken for good is terminated; one claimed by a host that may
// still be taking it (or died doing so) is left to that host, which takes
// it again idempotently, or released by an operator (ReleaseClaim, which
// refuses a request taken for good).
package network
