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
// portrait) and audit (the hash-chained issuance log).
//
// The package knows nothing of spools, layouts or printer drivers; it only
// uses printer.Mono as the 1-bit raster type.
package security
