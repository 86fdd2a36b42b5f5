package httpapi

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool"
)

// Metrics are the daemon's Prometheus metrics, on a private registry (never
// the global default one). Counters and histograms are fed by the daemon's
// adapters; job and printer gauges are read from the scheduler's status at
// each scrape.
type Metrics struct {
	reg        *prometheus.Registry
	printed    *prometheus.CounterVec
	spoiled    *prometheus.CounterVec
	failed     *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	claimDelay prometheus.Histogram
	compose    prometheus.Histogram
	photo      *prometheus.CounterVec
	photoFail  *prometheus.CounterVec
	photoTime  prometheus.Histogram
}

// NewMetrics builds the metrics and their registry. status is read at each
// scrape for the job and printer gauges.
func NewMetrics(status func() spool.Status) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.printed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cardd_cards_printed_total", Help: "Cards delivered to the output hopper, by printer.",
	}, []string{"printer"})
	m.spoiled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cardd_cards_spoiled_total", Help: "Cards sent to the reject box (serial voided, or a stray card left in the printer by an earlier attempt), by printer.",
	}, []string{"printer"})
	m.failed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cardd_print_failures_total", Help: "Print attempts that did not print a card, by printer and outcome (not-fed, unknown).",
	}, []string{"printer", "outcome"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "cardd_print_duration_seconds", Help: "Time to print one card, from the first byte to the card's outcome.",
		Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120},
	}, []string{"printer"})
	m.claimDelay = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "cardd_spool_claim_latency_seconds", Help: "Time from a job's claim into the spool to a printer taking it (composition start).",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 12),
	})
	m.compose = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "cardd_compose_duration_seconds", Help: "Time to compose one card: template, render, sign and the pre-print QR check.",
		Buckets: prometheus.ExponentialBuckets(0.002, 2, 12),
	})
	m.photo = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cardd_photo_checks_total", Help: "Job photos checked at intake, by verdict (pass, warn, fail).",
	}, []string{"verdict"})
	m.photoFail = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cardd_photo_check_failures_total", Help: "Failed photo checks at intake, by check (face, size, framing, roll, sharpness, exposure, background).",
	}, []string{"check"})
	m.photoTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "cardd_photo_check_duration_seconds", Help: "Time to decode and check one job photo at intake.",
		Buckets: prometheus.ExponentialBuckets(0.002, 2, 12),
	})
	m.reg.MustRegister(m.printed, m.spoiled, m.failed, m.duration, m.claimDelay, m.compose, m.photo, m.photoFail, m.photoTime,
		statusCollector{status: status},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchAuditLog adds cardd_audit_log_verified, read from verified at each
// scrape: 1 once the whole audit log is verified (at start, or by the
// verification that runs in the background after a start from the log's
// open state), 0 while that verification runs or after it failed.
func (m *Metrics) WatchAuditLog(verified func() bool) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cardd_audit_log_verified",
		Help: "1 once the whole audit log is verified (at start, or in the background after a start from its open state); 0 while that runs or after it failed (the station then stops).",
	}, func() float64 {
		if verified() {
			return 1
		}
		return 0
	}))
}

// Registry returns the private registry to serve at /metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObservePrint records one print attempt on printer p.
// A stray card the driver rejected before this card (Result.StrayRejected)
// counts as one more spoiled card.
func (m *Metrics) ObservePrint(p string, res printer.Result, took time.Duration) {
	if res.StrayRejected {
		m.spoiled.WithLabelValues(p).Inc()
	}
	switch res.Outcome {
	case printer.OutcomePrinted:
		m.printed.WithLabelValues(p).Inc()
		m.duration.WithLabelValues(p).Observe(took.Seconds())
	case printer.OutcomeRejected:
		m.spoiled.WithLabelValues(p).Inc()
	case printer.OutcomeNotFed:
		m.failed.WithLabelValues(p, "not-fed").Inc()
	default:
		m.failed.WithLabelValues(p, "unknown").Inc()
	}
}

// ObserveReject records a card the daemon sent to the reject box outside a
// print (settling a card of unknown outcome that was still inside).
func (m *Metrics) ObserveReject(p string) { m.spoiled.WithLabelValues(p).Inc() }

// ObserveClaimLatency records how long a job waited between its claim and a
// printer taking it.
func (m *Metrics) ObserveClaimLatency(d time.Duration) { m.claimDelay.Observe(d.Seconds()) }

// ObserveCompose records the time to compose one card.
func (m *Metrics) ObserveCompose(d time.Duration) { m.compose.Observe(d.Seconds()) }

// ObservePhotoCheck records one photo checked at intake: its verdict, the
// checks that failed, and the time taken.
func (m *Metrics) ObservePhotoCheck(verdict string, failed []string, took time.Duration) {
	m.photo.WithLabelValues(verdict).Inc()
	for _, c := range failed {
		m.photoFail.WithLabelValues(c).Inc()
	}
	m.photoTime.Observe(took.Seconds())
}

// statusCollector turns the scheduler's status into gauges at scrape time.
type statusCollector struct{ status func() spool.Status }

var (
	descJobs    = prometheus.NewDesc("cardd_jobs", "Jobs in the spool by state.", []string{"state"}, nil)
	descUp      = prometheus.NewDesc("cardd_printer_up", "1 when the printer answered its last status poll and the scheduler has not stopped it.", []string{"printer"}, nil)
	descBlocked = prometheus.NewDesc("cardd_printer_blocked", "1 when the printer reports a fault that stops printing (cover open, ribbon out …).", []string{"printer"}, nil)
	descRibbon  = prometheus.NewDesc("cardd_printer_ribbon_left", "Ribbon panels or prints left, as the printer reports (-1 unknown).", []string{"printer"}, nil)
	descBatches = prometheus.NewDesc("cardd_batches_open", "Permanent-mode batches not yet done.", nil, nil)
)

func (c statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descJobs
	ch <- descUp
	ch <- descBlocked
	ch <- descRibbon
	ch <- descBatches
}

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	for _, s := range []spool.State{spool.StatePending, spool.StateHeld, spool.StateProcessing, spool.StateStopped, spool.StateCancelled, spool.StateAborted, spool.StateCompleted} {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(st.Queue[s]), string(s))
	}
	for _, p := range st.Printers {
		up := 0.0
		if !p.Stopped && p.Err == "" && p.Status.State != printer.StateOffline && p.Status.State != "" {
			up = 1
		}
		blocked := 0.0
		if p.Status.Blocked() {
			blocked = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, p.Name)
		ch <- prometheus.MustNewConstMetric(descBlocked, prometheus.GaugeValue, blocked, p.Name)
		ch <- prometheus.MustNewConstMetric(descRibbon, prometheus.GaugeValue, float64(p.Status.Consumables.RibbonLeft), p.Name)
	}
	ch <- prometheus.MustNewConstMetric(descBatches, prometheus.GaugeValue, float64(len(st.Batches)))
}
