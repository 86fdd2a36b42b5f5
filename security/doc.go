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
// portrait) and audit (the hash-chained issuance log); base45 is the text
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
// The package knows nothing of spools, layouts or printer drivers; it only
// uses printer.Mono as the 1-bit raster type.
package security
