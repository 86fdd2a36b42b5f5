// Package security holds the pure computation behind a card's security
// features: card serials with a check character and their durable
// allocation, the signed credential carried in the card's QR code (a MOSIP
// Claim 169 compatible CWT in a COSE_Sign1, zlib-compressed and Base45
// encoded), its verification against a trust list and a deny list, the QR
// capacity check and rendering on the dot grid, and the pre-print check that
// decodes the QR back from a rendered panel.
//
// Printed security features live in sub-packages: microtext (a bitmap font
// on the dot grid), guilloche (rosettes and wave bands), ghost (the reduced
// portrait) and audit (the issuance log: a Merkle-tree
// transparency log with signed checkpoints); base45 is the text
// codec. Package layout places them as template elements (microtext,
// guilloche, ghost, signed_qr).
//
// # In the issuing pipeline
//
//	alloc, _ := security.OpenAllocator(stateDir, prefix, station) // one per station; Close on exit
//	key, _ := security.LoadPrivateKey(cfg.Security.SigningKey)     // refuses group/other-readable files
//	signer, _ := security.NewSigner(key)
//	kinds := layout.WithSigner(layout.DefaultKinds(), signer, cfg.Security.Issuer)
//	// per card:
//	serial, _ := alloc.Next(ctx)                       // durable before it returns
//	card, _ := renderer.Render(ctx, tmpl, data, geom)  // data.Serial = serial.String()
//	res, qrText, err := security.VerifyRendered(card.Back.K, verifier) // or Front.K
//	// print only when err == nil && res.Valid(); record
//	// audit.Log.Issued(ctx, serial, job, template, printer, qrText) before the first byte.
//
// Verifiers (cardd verify, the officers' page) load the trust list
// (LoadTrustList) and the deny list that "cardd audit export" writes
// (LoadDenyList) and call Verifier.Verify on the QR text.
//
// # Claim 169 forms
//
// Verifiers accept what the Claim 169 QR specification (1.2.x) allows:
// the COSE_Sign1 compressed with zlib or with Brotli (told apart by the
// zlib header; anything else is read as Brotli, through the same size
// limit), and the COSE_Sign1 untagged, tagged 18, or wrapped in the CWT tag
// as 61(18(…)). The signature covers none of these layers.
//
// Signers emit zlib and tag 18 (COSE_Sign1_Tagged). The specification's
// example wraps the message as 61(18(…)), but the reference
// implementation (the claim-169 SDK) writes tag 18 alone, and its decoder
// reads tag 18 or an untagged array and not the CWT tag. Tag 18 is
// therefore the one form that both the reference implementation and every
// reader following the specification's example accept, so it is what
// cards carry; the decision is checked by TestSignEmitsTag18.
//
// The package knows nothing of spools, layouts or printer drivers; it only
// uses printer.Mono as the 1-bit raster type.
package security
