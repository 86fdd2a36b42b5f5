// Package audit is the card issuance log: an append-only file of JSON
// lines, one record per event (a serial issued, voided, spoiled, reprinted,
// printed, outcome unknown, an operator action), kept as a transparency
// log in the design of Certificate Transparency and the Go checksum
// database. Append fsyncs before it returns.
//
// The log holds no personal data: only serials, job IDs, template and
// printer names, hashes of the signed payloads, and short reasons.
//
// # Files
//
// Beside the log file PATH (security.audit_log):
//
//   - PATH: the records, one JSON object per line (Record). Each carries
//     seq (1, 2, …) and prev, the hex SHA-256 of the line before it
//     (GenesisHash for the first): the hash chain of the original format,
//     still written and checked, so a log written before the tree existed
//     reads unchanged.
//   - PATH.tree: the Merkle tree over the record lines, as the stored
//     hashes of golang.org/x/mod/sumdb/tlog (leaf i is tlog.RecordHash of
//     line i+1 without its newline; tlog.StoredHashes appends about two
//     32-byte hashes per record). Appended after each record and fsynced
//     at Close (not per record: nothing rests on it surviving a crash).
//     It is derived data: Open rebuilds it from the records (atomic
//     rename) when it is missing, short or different, which is how a
//     crash's torn tail is repaired and an older log without one is
//     migrated.
//   - PATH.checkpoints: every checkpoint the station signed, one JSON line
//     each, {"time": "…", "note": "…"}, append-only and fsynced.
//
// # Checkpoints
//
// A checkpoint is a signed note (golang.org/x/mod/sumdb/note, Ed25519)
// whose text has the c2sp.org/tlog-checkpoint form:
//
//	<origin: the audit key's name>
//	<number of records>
//	<base64 Merkle tree hash of those records>
//
// followed by a blank line and the signature line(s). The station signs
// one with its own audit key (security.audit_key; EnsureKey makes it on
// first start and writes its verifier key beside it as KEY.pub) every
// Options.CheckpointEvery records, after each batch-close operator record,
// on a timer (Log.Checkpoint), and on demand. Open checks every kept
// checkpoint against the records and refuses a log that no longer
// contains what one of them covered.
//
// A checkpoint kept elsewhere (exported with "cardd audit checkpoint",
// published to the network's hub) then catches what a hash chain alone
// cannot: a log truncated below it, or rewritten, reordered or with a
// record removed or inserted up to it and re-chained, no longer has the
// checkpoint's root (VerifyAgainst, "cardd audit verify --checkpoint").
// A witness holding an older checkpoint checks that a newer one extends
// it with a consistency proof (Log.ProveConsistency, CheckConsistency).
// An inclusion proof (Prove, Proof.Marshal, "cardd audit prove SERIAL")
// shows a third party that a record is in the log a checkpoint covers
// (ParseProof, CheckProof, "cardd audit check-proof").
package audit
