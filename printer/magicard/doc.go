// Package magicard drives Magicard card printers (Tango 2E, Rio/Rio Pro,
// Enduro, Pronto and their OEM relatives) in their spool command language.
//
// # The print job
//
// A job is one block per card side, each preceded by a lead-in of 64 bytes
// 0x05. A block is SOH (0x01) and ',' followed by the side's header: ASCII
// commands separated by commas, NOC first, with no comma after the last;
// then FS (0x1C); then the image planes, each one its pixel data followed
// by the three-byte trailer FS, the plane letter and ':' (B yellow, G
// magenta, R cyan, K resin black); then ETX (0x03). The lengths announced
// in the header by SZB, SZG, SZR and SZK count the pixel data only, never
// the trailer. A duplex job says DPXON on both sides, announces the back
// in the front header (BAC with the back's panel letters, such as CKO) and
// numbers its sides PAG1 and PAG2; a simplex job says DPXOFF.
//
// # Framed as Magicard's own driver frames it
//
// Gutenprint's Magicard support (its print filter and its CUPS backend,
// written from Magicard's own driver output) differs from the vendor
// document on some points. The driver follows the drivers, point by point:
//
//   - The 64 × 0x05 lead-in goes before every side, not once per job, and
//     the back's header says DPXON too: Gutenprint writes each side so, and
//     its backend checks the lead-in (byte 0 and SOH ',' at byte 64) of
//     every side it reads.
//   - The canvas is 672 dots across the card with a printable window of
//     642 dots in its middle, dots 15 to 656 (Gutenprint's page is 672 dots
//     with 15-dot margins; Magicard's Windows driver prints into dots 15 to
//     655 of its lines). The header says WID1016,HGT642: Magicard's
//     document defines WID as the window's width along its X axis, the one
//     XCO counts 0–1016 along the card, and HGT along Y; Gutenprint sends
//     WID1016,HGT642 (its notes say the opposite, its code does not) and
//     so does Magicard's Windows driver (WID1000,HGT642 on a 1000-line
//     model). The driver used to send WID642,HGT1016. The card raster, 648
//     rows at 300 dpi (637.5 of them the physical card), is centred on the
//     canvas (CanvasBase: its bottom row at dot 12), so rows 3 to 644 fill
//     the window and the three rows at each edge, beyond the card's edge
//     anyway, fall in the canvas margin.
//   - PCT is sent on every side, as the driver sends it: the overcoat area
//     with OVRON, the whole window (PCT0,0,1015,641) with OVROFF. PCT and
//     NCT are in the wire's frame, which Magicard's document describes as a
//     rectangle's bottom-left then top-right corner: x along the card from
//     its left edge (the wire line, 0–1015), y up from the window's first
//     dot (0–641), so card row 644 is y 0 and row 3 is y 641.
//   - Magnetic track 3 goes as MAG3,BPI210,MPC5: Gutenprint sends MPC7 (7
//     bits a character) there, but ISO 7811 track 3 is numeric, 5 bits a
//     character at 210 bpi, which is what the driver validates and what
//     card readers expect; track 1 is MPC7 at 210 bpi, track 2 MPC5 at 75.
//   - Simple commands go without REQ, as Magicard's tools send them: nine
//     0x05, SOH, "EJT," or "TST," (also RST), FS, ETX. Queries and the
//     error buttons keep the REQ form (REQ,INF, REQ,STA,key, REQ,CAN,,
//     REQ,OKY,).
//   - The backend's header reader stops at the first NUL: it reads the
//     header with string functions, so a side whose first plane byte is not
//     0 has its pixel data taken for header text and the whole job misread.
//     With the window inset, the first plane byte (dots 0–7 of line 0) is
//     always 0, as in the driver's own streams.
//
// TestGutenprintParsesOurStreams runs Gutenprint's backend (Debian package
// printer-driver-gutenprint) in its test mode on simplex, duplex,
// full-bleed and magnetic streams, twice in a row, and checks that it
// parses every side to the byte. One limit remains, Gutenprint's, not the
// printer's: its backend wants Y, M and C lengths on every side, so a side
// printed in resin black only (IMFK, which the vendor document and the
// printers accept) cannot go through Gutenprint's backend.
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
// # Orientation
//
// The wire raster is the card turned a quarter turn clockwise, never
// mirrored (WireTransform, WireRotate): with the card seen upright in
// landscape, wire line 0 is the card's left edge and the lines run to its
// right edge; within a line the canvas dots run from the card's bottom row
// (dot 12 for the 648-row raster) to its top row (dot 659). So card dot
// (x, y), y counted down from the top, is line x, canvas dot
// CanvasBase + 647 − y. The driver used to send line x, dot 12 + y: the
// card mirrored top to bottom, every card printed as in a mirror.
//
// What settles the mirror, from independent sources:
//
//   - Magicard's own Windows driver (version 1.7.2.0; a network capture of
//     it printing a landscape test card of labelled colour bars, published
//     with Magicard's GPL CUPS filter in github.com/pc-coholic/magicardppd,
//     tools-and-traces/win): its planes, decoded with this package's
//     Enduro dot layout, show the card turned half a turn from the layout
//     above — the labels' text reads upright once the picture is turned,
//     never as in a mirror. A driver's output is what the printer prints
//     right, and a turn cannot make a mirror.
//   - Gutenprint (print-dyesub.c, Magicard models): its page is a portrait
//     672 × 1016 raster written row by row, page row = wire line and page
//     column = canvas dot, so the page prints as it is seen: a turn of the
//     card, no mirror. Its backend (backend_magicard.c) changes only the
//     bit depth, not the order.
//
// Which end goes first, a half turn, is the drivers' choice and Magicard's
// own drivers differ on it: its CUPS filter (rastertoultra.c) turns the
// image half a turn for some models and not others ("Enduro printing is
// rotated by 180 degrees relative to other printers"), and the Windows
// capture above is turned half a turn from this driver. This driver takes
// the turn that puts a standard card's chip and stripe where the card stock
// has them, read from two facts: Magicard's document gives PCT and NCT as a
// rectangle's bottom-left corner then its top-right one, and Gutenprint's
// overcoat-hole presets (its notes read Magicard driver jobs) are a smart-card
// hole at NCT90,295,260,450 and a stripe hole at NCT0,420,1025,590. Read
// with x from the card's left edge and y up from its bottom, the chip hole
// covers 7.6–22 mm from the left and 16–30 mm from the top, where ISO/IEC
// 7816-2 puts the contacts, and the stripe hole 4.6–19 mm from the top
// edge, where ISO/IEC 7811 puts the stripe; in any other reading the chip
// hole misses the contacts. TestCornerMapping pins the corners and the
// overcoat frame; the emulator decodes the same way
// (TestMagicardCornerMapping). Only a real printer can confirm the turn;
// the mirror is settled.
//
// The back: cardd composes a card's back as it is seen turning the card
// over its short edge (its top edge stays on top), the way ISO/IEC 7811
// and 7816 place the stripe on the back and the chip on the front against
// the same top edge. A Magicard turns the card end over end, so the back
// laid out like the front comes out so: Magicard's CUPS filter lays a
// landscape back out as its front and turns only a portrait back half a
// turn ("with portrait printing on the back side, the device flips the
// card"), and Gutenprint turns the back page half a turn for a long-edge
// (portrait book) duplex and not for a short-edge one. The driver sends
// the back with the front's mapping.
//
// Through CUPS and Gutenprint (printer/ipp), a landscape card is turned a
// quarter anticlockwise onto Gutenprint's portrait page, as IPP turns a
// landscape page, which puts the card's right edge on line 0: the card
// comes out turned half a turn against this driver, both sides alike
// (printer/ipp asks for two-sided-short-edge). Same picture, same
// handedness, other end first.
//
// # Plane formats
//
// The Tango 2E / Rio generation (FormatRio, the default) takes a canvas of
// 1016 lines of 672 dots: one wire line per card column (x = 0 … 1015), the
// 672 dots of a line running across the card from its bottom (card row y
// of the 648-row raster at canvas dot 12 + 647 − y, see Orientation), most
// significant bit first. A colour plane carries 6 bits per dot, sent as six
// 84-byte bit-plane stripes per line, bit 0 first (504 bytes a line,
// 512,064 bytes a plane); K carries one 84-byte stripe per line (85,344
// bytes).
//
// The Enduro/Pronto generation (FormatEnduro) uses 768-bit columns: each of
// the 1016 lines is 24 big-endian 32-bit words; dots 0–287 of the line sit
// on the even bits of words 6–23 and dots 288–671 on the odd bits of words
// 0–23. The public description leaves the bit numbering open; this driver
// counts a word's bits from its least significant bit, so dot y < 288 is
// bit 2·(y mod 16) of word 6 + y/16 and dot y ≥ 288 is bit 2·((y−288) mod
// 16)+1 of word (y−288)/16. A colour plane is six 96-byte stripes per line
// (585,216 bytes), K one (97,536 bytes). The window is placed by the print
// head's vertical position P, read with INF before the job: as Magicard's
// document places image row 0 (the card's bottom side), at canvas dot
// 50 − P (WindowDot), the raster centred on it (CanvasBase; kept on the
// canvas). P = 35 puts it where a Rio's is, dot 15, which is where
// Magicard's Windows driver's capture has it; the driver used to put the
// raster's first row at dot P, 2 mm off for P = 35. The dot layout
// (which canvas dot each bit of a line is) is the one Magicard's Windows
// driver writes: its planes in the capture named under Orientation (a
// 768-bit model, WID1000) decode into a clean picture, text and all, with
// exactly this numbering, while numbering a word's bits from its most
// significant end, as the document's sample code does (bit 31 − 2k),
// scrambles them. The order of the six bit-plane stripes is not shown by
// that capture (its colours are mostly full or no dye), and Magicard's own
// CUPS filter reorders the bits of these words per model (bytes swapped for
// Avalon, bits reversed within each byte for others), so the layout may
// differ by model. It has not been checked on a real Enduro: prefer
// FormatRio when the printer accepts it.
//
// Dye values are 6-bit intensities: 0 means no dye, 63 full dye. Yellow is
// 255 − blue, magenta 255 − green, cyan 255 − red, each shifted right by 2.
//
// # Non-printing commands and status
//
// A command is nine 0x05 bytes, SOH, "REQ," the command and its arguments
// each followed by ',', then FS and ETX; a simple command (EJT, TST, RST)
// leaves out "REQ,". The driver uses INF (full status),
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
// a card to a reject box (Eject with reject returns ErrUnsupported). What
// the protocol does allow, the driver does: after a card whose outcome was
// unknown (a link lost or a wait cut short after the job was sent), the
// next Print compares the INF card counter with its value before that card;
// if it has not moved, the card may still be inside, and the driver sends
// EJT before the new job, so the new card is not printed over it. The card
// lands in the output hopper, not a reject box, and since the driver cannot
// tell an ejected stray from an empty eject, Print does not set
// printer.Result.StrayRejected: whoever empties the hopper must count it as
// spoiled. The job of the interrupted card stays outcome-unknown (held for
// an operator). The driver remembers this only while the process runs; after
// a daemon restart, a caller that knows a card may be inside sends it out
// with Eject(ctx, false) before printing.
//
// # Evidence
//
// Dev implements printer.EvidenceReader from INF: the printer's serial,
// its lifetime card counter (as Evidence.Printed: the counter whose move
// Print itself takes as a card printed) and its dye panel counter. No
// published field tells whether a card is inside or counts cards fed or
// rejected, so Inside is unknown and Fed and Rejected are -1. A card of
// unknown outcome is settled printed when the counter moved by exactly one
// on the same printer; when it did not move, the printer cannot tell a
// card stopped inside from one never fed, and the daemon holds the job for
// a person.
package magicard
