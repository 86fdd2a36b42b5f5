// Package evolis drives Evolis card printers (Pebble, Dualys, Quantum,
// Primacy, Zenius family; not Avansia, which speaks another protocol)
// through their ESC…CR command language.
//
// Use New with a transport (USB, TCP, the emulator) and Opts, then the
// printer.Printer methods. Encode builds the exact byte stream of a card
// without a printer, for previews, golden tests and file output.
//
// # Framing
//
// A command is the byte ESC (0x1B), the command name, its parameters each
// preceded by ';', and CR (0x0D). The printer answers each command with
// one line of ASCII ended by CR: "OK", a value for a query, or an error
// reply that starts with "ERR" (an unknown command is "ERROR CDE"). NUL
// bytes between commands are padding and ignored. The driver writes one
// command, reads its reply, and only then writes the next, so a fault
// stops the job at the command that met it.
//
// # A job
//
//	Pem;2                 the host handles errors (the printer does not wait for a person)
//	Pr;ymcko              the ribbon the job expects (k, ko, ymckos …)
//	Ss                    sequence start
//	Dm;1;DATA … Smw       magnetic tracks (when the card has any), then write them
//	Sr                    front side
//	Db… / Dbc…            panel downloads: y, m, c, k, o (those the side has)
//	Sv                    back side (duplex), then its downloads
//	Se                    sequence end: the card goes to the output hopper
//
// The reply to Se is the printer's confirmation that the card is out: only
// then does Print report printer.OutcomePrinted.
//
// # Panels on the wire
//
// A 300 dpi panel travels as 1016 lines of 648 dots: the landscape card
// turned a quarter turn (printer.Transform{Rotate: WireRotate}, 90°
// clockwise). With the card seen upright in landscape, wire line 0 is the
// card's left edge and the lines run to its right edge; dot 0 of a line is
// the card's bottom row and dot 647 its top, so card dot (x, y), y counted
// down from the top, is line x, dot 647 − y. This is how Evolis's own
// drivers send a card (captures of the Windows driver printing to a Dualys
// 3, and an open-source driver that turns the landscape bitmap 270°
// counter-clockwise before sending): the printer feeds the card's left edge
// first, and a card turned the other way would have its magnetic stripe,
// chip or pre-printed stock on the wrong end. Y, M and C carry
// 255 minus the blue, green and red of the colour image, rounded to 5, 6,
// 7 (the default) or 8 bits; K and O are 1 bit per dot, 1 meaning resin
// or varnish.
//
// Uncompressed, "Db;PANEL;LEVELS;DATA": LEVELS is 2 for K and O and 32,
// 64, 128 or 256 for 5-, 6-, 7- or 8-bit dye; DATA is every sample of the
// panel, line after line, packed into one continuous bit stream, most
// significant bit first, with no padding between lines (81 bytes a line at
// 1 bit, 567 at 7 bits; 82,296 or 576,072 bytes a panel).
//
// Compressed, "Dbc;PANEL;LEVELS;COUNT;DATA", COUNT being the number of
// DATA bytes. K and O use line coding: each line is a code byte, 0x00 for
// an all-white line, 0xFF for an all-black line, or N (1 to 81) followed
// by the first N bytes of the line, the rest of the line being white
// (AppendLines, DecodeLines). Y, M and C use run-length coding, each line
// on its own: a byte with its top bit clear is one dot of that value; a
// byte with its top bit set is a run whose value is in its low bits (5, 6
// or 7 of them) and whose length is the next byte, extended by the unused
// bits between value and top bit as the length's bits 8 and up (one spare
// bit at 6 bits, two at 5 bits); a length of 0 runs to the end of the line,
// so an empty line is 0x80 0x00 (AppendRLE, DecodeRLE). 8-bit dye cannot
// be compressed.
//
// Half panels: with a half-panel ribbon ("ymckos", HalfPanel), whose
// colour panels cover only part of the card's length, Y, M and C go as
// "Dbp;PANEL;LEVELS;START;COUNT;DATA" (or "Dbpc;PANEL;LEVELS;START;COUNT;
// N;DATA" compressed): only the wire lines START to START+COUNT−1, the
// card columns from the first to the last that carry any dye, at most 420
// (HalfPanelLines), coded as a full panel's lines are. Colour wider than
// that is refused (printer.ErrUnsupported). The vendor guide names the
// command and its first four fields; the count of the compressed form is
// this package's reading, following Dbc.
//
// The reference material is inconsistent on some points, and this package
// settles them. The vendor guide's compressed header has a first-line
// field; the package uses the four-field form of the vendor driver's
// captured traffic. The guide's panel byte counts assume 1032 × 656; the
// package sends 648 × 1016, as working drivers do. Where the guide's
// description of run lengths is vague, the package reads the length byte
// as a plain count, and lets a zero length run to the end of the line.
//
// # Status
//
// Status sends the queries of StatusQueries and maps the replies to the
// shared vocabulary (ParseStatus): the cover sensor (Rse;c) and the feeder
// sensor (Rse;f) answer in volts with a decimal comma, and about 0 V means
// open or empty; Rlr;p gives the card position ("CARD" means the printer is
// busy, an error reply a jam); Rlr;h says "CARD" when the output hopper is
// full; Rcr answers "OK" until the ribbon reaches its end; Rco;l, Rco;c and
// Rco;p are the prints left on the ribbon, the cards inserted and the
// panels printed. Identify uses Rtp, Rsn, Rfv and Rr.
//
// # Evidence
//
// Evidence (printer.EvidenceReader) reads what settles a card whose outcome
// is unknown after a crash or a lost link: the serial (Rsn), the cards
// inserted counter (Rco;c, as Fed), the panels counter (Rco;p) and the card
// position (Rlr;p). The language has no counter of cards delivered or
// rejected, and Rco;c counts a card when it is fed, whatever became of it:
// a card pulled out of the printer by hand mid-print, or one the printer
// sent out itself, moves it just as a delivered card does. The panel
// counter tells them apart. The printer counts each panel it prints, one
// per panel download (Db, Dbc, Dbp, Dbpc), so a card printed whole moves
// Rco;p by exactly the panels the driver sends for it: CardPanels
// (printer.PanelCounter) says how many, from the card and the ribbon (three
// dye panels for a side with colour, none on a half-panel ribbon when the
// colour carries no dye, one for K, one for the overlay), and the spool
// journals it with the evidence before the card is fed.
//
// The settlement (package spool, Decide) reads the physical facts so: the
// card counted fed, not inside, and the panel counter moved by the card's
// panels: it was delivered. Counted fed, not inside, and the panel counter
// moved by fewer (none included): the card left part-printed — pulled out,
// or sent out by the printer — and is spoiled; its serial is voided
// because a part-printed card may carry it and be in someone's hands, and
// the job is printed again on a new card. Voiding is the right answer
// whichever way the card left, so this needs no person. A panel counter
// that is missing, went back, or moved by more than the card's panels is
// not explained by this card: the job is held for a person. A card still
// inside, however far it was printed, is sent to the reject box as before.
//
// Error replies map to sentinel errors wrapped in *printer.StatusError,
// which keeps the raw reply: "ERR COVER OPEN" → printer.ErrCoverOpen,
// "ERR FEEDER EMPTY" → ErrFeederEmpty, "ERR RIBBON" → ErrRibbonOut, "ERR
// MECHANICAL" → ErrCardJam, "ERR HOPPER FULL" → ErrHopperFull, and so on
// (ReplyReasons); a command or parameter error wraps printer.ErrProtocol.
//
// # Outcomes
//
// A fault reported before a card could leave the feeder (cover open,
// feeder empty, hopper full or wrong ribbon at the first card-moving
// command) is printer.OutcomeNotFed. A fault after it leaves the card in
// the printer: with Opts.RejectOnFault the driver sends it to the reject
// box (Ser) and reports OutcomeRejected if that worked, otherwise
// OutcomeUnknown. A transport failure after the first card-moving command
// began is always OutcomeUnknown: the card may or may not have been
// printed, and a person must look.
package evolis
