// Package ipp prints cards through an IPP print queue: a CUPS queue set up
// with the printer vendor's Linux driver (Evolis, Magicard, Zebra and HID
// Fargo ship CUPS drivers; Gutenprint drives Magicard printers), or a
// driverless IPP printer. It is the way to a card printer cardd has no
// native driver for. Connections are ipp://HOST[:PORT]/PATH (a CUPS queue
// is ipp://HOST:631/printers/NAME) and ipps://… for IPP over TLS.
//
// Every IPP message is built and read with github.com/OpenPrinting/goipp
// and carried by net/http.
//
// # One card, one job
//
// Each card is one Print-Job. Before it, Get-Printer-Attributes reads the
// queue: a queue that does not accept jobs, or reports a reason that stops
// printing, gets no job (the card is not fed). The document is the card's
// sides as pages, front then back, in the first raster format the queue's
// document-format-supported offers: application/vnd.cups-raster (a CUPS
// queue with a raster driver: the card goes straight into the vendor's
// filter) or image/pwg-raster (IPP Everywhere). Each page is the side as it
// looks printed — colour with the resin black on top — centred on the
// queue's CR80 media (the media-size-supported entry that holds 85.6 ×
// 54 mm with at most 5 mm to spare), turned a quarter anticlockwise when
// that media is portrait, at the card's resolution, which must be one the
// queue prints at. The job asks for one copy, that media and resolution,
// and a two-sided card asks for sides two-sided-short-edge: cardd composes
// a card's back as it is seen turning the card over its short edge (see
// printer/magicard), so a queue that prints long-edge only gets
// two-sided-long-edge with the back's page turned half a turn, which puts
// the same back on the card. A queue whose sides-supported is one-sided
// only refuses such a card before anything is sent, as it would print the
// back on a second card. Magnetic stripe data
// and a UV panel cannot be expressed in a page and are refused likewise.
//
// Then Get-Job-Attributes is polled until the job ends:
//
//   - completed: the card is printed — in the spooler's words. For CUPS,
//     completed means its backend delivered the whole document to the
//     device (for a raw socket device: wrote the bytes to the port). It is
//     not the printer saying the card reached the hopper: a printer that
//     refuses the data after taking it (cover open on a raw-socket
//     printer) still leaves a completed job. completed with
//     job-completed-with-errors is unknown, and so is a job that completed
//     while the queue reports a printer fault its backend read during the
//     job (CUPS's network backends read it by SNMP and report it as
//     door-open-report, media-jam-warning, media-empty-warning,
//     toner-empty-warning, output-area-full-warning).
//   - canceled or aborted before the job reached the printer
//     (time-at-processing unset): not fed; after it: unknown.
//   - processing-stopped (the queue stopped while printing it), held, sent
//     back to pending after it had started (the spooler restarted), not
//     ended within Opts.JobTimeout, or printing cancelled by cardd: the job
//     is cancelled with Cancel-Job, so the spooler cannot print it later
//     behind the daemon's back, and the card is unknown — or not fed, when
//     the job never reached the printer (held or still pending when
//     cancelled).
//   - the spooler lost (two failed polls in a row, the job gone): unknown.
//
// An unknown card is held by the daemon for an operator, as with every
// driver.
//
// # Status
//
// Status is printer-state and printer-state-reasons, mapped to the
// project's reasons: media-empty and media-needed to feeder-empty,
// media-jam to card-jam, cover-open, door-open and interlock-open to
// cover-open, marker-supply-empty to ribbon-out, marker-supply-low to
// ribbon-low, output-area-full to output-hopper-full, offline, paused and
// shutdown (and a queue not accepting jobs) to offline, any other -error
// keyword to mechanical. -report keywords are information and dropped
// (except offline-report), and so are -warning keywords of faults that
// stop a card printer: those are how CUPS's network backends pass on what
// SNMP told them during the last job, stale once the job ended (a cover
// closed since still shows as open until the next job), so they must not
// stop the station's printer, which would never send the job that clears
// them; they decide the outcome of the job they were read during instead. The queue's own words (state, reasons, message,
// marker levels) are kept in Status.Raw. What the queue can report is what
// its backend learns: a raw socket device without SNMP tells the spooler
// nothing about the printer; with SNMP, CUPS's socket backend learns its
// faults and supplies during each job; a vendor backend or an IPP printer
// reports them live.
//
// # What the queue does, not cardd
//
// Panel separation — which dots go to the resin black K panel, where the
// overlay varnish goes and where it leaves holes for a chip or a stripe,
// UV — is the vendor driver's, not cardd's. cardd sends what the card
// looks like; the K panel it composed reaches the queue as black pixels,
// its overlay panel not at all. What cardd can do is choose the queue's
// options the card needs, where the queue offers them: a CUPS queue with
// a PPD takes its options as job attributes (cupsd passes every job
// attribute to the filter), and CUPS serves the PPD at the queue's address
// with .ppd added, so the driver reads it (once, and again at each
// Identify) and sends, for Gutenprint's Magicard driver:
//
//   - StpBlackType=Resin when a side of the card has a K panel (Gutenprint
//     then prints the page's pure black dots with the resin panel; a pure
//     black dot of the colour image goes to resin too), Composite when
//     none has;
//   - StpLaminate=On when the front has an overlay panel, Off when not —
//     the whole card is varnished: the overlay's holes are not sent (the
//     PPD's StpOvercoatHole presets are fixed rectangles in the printer's
//     frame, which through this path is the card turned half a turn, see
//     printer/magicard), and the PPD has no option for the back's overcoat
//     (Gutenprint then leaves the back unvarnished).
//
// An option the queue does not offer, or offers without the choice, is not
// sent: the queue's own settings apply (another vendor's driver names its
// options its own way, which cardd does not know). Identify lists the
// panels the queue's options offer (colour when color-supported, K with
// resin black, overlay with the overcoat) and no panels when its options
// say nothing of them — a driverless printer, an unknown driver: the
// station then composes the configured ribbon's panels. Which ribbon is
// loaded, the queue does not say.
//
// ClearError does nothing (faults are cleared at the printer, and a stopped
// queue is re-enabled by its administrator), Eject and TestCard are not
// possible through a spooler.
package ipp
