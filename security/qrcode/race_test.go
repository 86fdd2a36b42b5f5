//go:build race

package qrcode

// raceEnabled shortens the differential test under the race detector,
// which slows boombuler's encoder tenfold and finds nothing in this
// single-goroutine computation.
const raceEnabled = true
