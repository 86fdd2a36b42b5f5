// Package magicard drives Magicard card printers (Tango 2E, Rio/Rio Pro,
// Enduro, Pronto and their OEM relatives) in their spool command language.
//
// # The print job
//
// A job is a lead-in of 64 bytes 0x05, then one block per card side. A
// block is SOH (0x01) and ',' followed by the side's header: ASCII commands
// separated by commas, NOC first, with no comma after the last; then FS
// (0x1C); then the image planes, each one its pixel data followed by the
// three-byte trailer FS, the plane letter and ':' (B yellow, G magenta, R
// cyan, K resin black); then ETX (0x03). The lengths announced in the
// header by SZB, SZG, SZR and SZK count the pixel data only, never the
// trailer. A duplex job announces the back in the front header (DPXON and
// BAC with the back's panel letters, such as CKO) and numbers its sides
// PAG1 and PAG2.
//
// The overlay (Magicard calls it overcoat) is not a bitmap on these
// printers: it is a rectangle to varnish (PCT x1,y1,x2,y2) with
// rectangular holes (NCT x1,y1,x2,y2), both in card dots, landscape, ends
// inclusive. The driver derives them from the side's Overlay mask: PCT is
// the bounding box of the set dots and the clear dots inside it are cut
// into as few NCT rectangles as a row-by-row merge finds. A mask that needs
// more than Opts.MaxHoles holes is refused rather than approximated.
//
// Magnetic stripe tracks ride in the front header as
// MAG<track>,BPI<density>,MPC<bits per char>,COE<H|L>,<data>.
//
// # Plane formats
//
// The Tango 2E / Rio generation (FormatRio, the default) takes a canvas of
// 1016 rows of 672 dots: one wire row per card column (x = 0 … 1015), the
// 672 dots of a row running along the card's short edge (y), most
// significant bit first. A colour plane carries 6 bits per dot, sent as six
// 84-byte bit-plane stripes per row, bit 0 first (504 bytes a row, 512,064
// bytes a plane); K carries one 84-byte stripe per row (85,344 bytes).
//
// The Enduro/Pronto generation (FormatEnduro) uses 768-bit columns: each of
// the 1016 lines is 24 big-endian 32-bit words; dots 0–287 of the line sit
// on the even bits of words 6–23 and dots 288–671 on the odd bits of words
// 0–23. The public description leaves the bit numbering open; this driver
// counts a word's bits from its least significant bit, so dot y < 288 is
// bit 2·(y mod 16) of word 6 + y/16 and dot y ≥ 288 is bit 2·((y−288) mod
// 16)+1 of word (y−288)/16. A colour plane is six 96-byte stripes per line
// (585,216 bytes), K one (97,536 bytes). The image is placed at the print
// head's vertical position, read with INF before the job. This layout has
// not been checked against a real Enduro: treat it as the best reading of
// the documentation, and prefer FormatRio when the printer accepts it.
//
// Dye values are 6-bit intensities: 0 means no dye, 63 full dye. Yellow is
// 255 − blue, magenta 255 − green, cyan 255 − red, each shifted right by 2.
//
// # Non-printing commands and status
//
// A command is nine 0x05 bytes, SOH, "REQ," the command and its arguments
// each followed by ',', then FS and ETX. The driver uses INF (full status),
// STA,<key> (one value), CAN and OKY (clear an error, as the Cancel and OK
// buttons do), EJT (eject) and TST (built-in test card). A reply is SOH,
// the echo of what was asked, the data, ',' and ETX; see ParseINF and
// ParseSTA for the layouts.
//
// The INF reply carries a major and a minor error code. Their numeric
// values are not published; this package fixes its own table (Major…
// constants) that printer/emulator also speaks. Check it against a real
// printer before relying on the exact numbers.
//
// # Outcomes
//
// Magicard printers do not acknowledge a job. Print reads INF before
// sending (a blocking fault stops the job before any card is fed), sends the
// job, then polls INF until the printer's card counter moves (OutcomePrinted)
// or a fault appears. Only a confirmed counter move is reported as printed;
// a lost link or an unexplained silence after data was sent is
// OutcomeUnknown.
//
// # A card left inside
//
// Unlike Evolis (Rlr;p), no published Magicard status field says whether a
// card sits in the print position, and there is no host command that sends
// a card to a reject box (Eject with reject returns ErrUnsupported; EJT
// ejects to the output hopper). So after a link lost or a daemon killed
// mid-card this driver cannot see a card left inside, and Print does not
// set printer.Result.StrayRejected: the next job may be printed on that
// card. The job of the interrupted card is outcome-unknown (held for an
// operator), who should open the printer or press Cancel before releasing
// more work. A caller that knows a card may be inside can send it out with
// Eject(ctx, false) first; the card then lands in the output hopper, and
// must be counted as spoiled by whoever takes it out.
package magicard
