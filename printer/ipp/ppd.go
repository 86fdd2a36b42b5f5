package ipp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/cardd/cardd/printer"
)

// A CUPS queue set up with a PPD (Gutenprint's drivers, most vendors' CUPS
// drivers) takes the PPD's options as job attributes: cupsd hands every job
// attribute to the queue's filter as an option, so StpBlackType=Resin in a
// Print-Job reaches Gutenprint's filter as if an administrator had set it.
// IPP does not list those options; CUPS serves the queue's PPD at the
// queue's own address with .ppd added, which is where the driver reads
// them.

// maxPPD bounds the PPD read (Gutenprint's are about 70 KB).
const maxPPD = 4 << 20

// ppdOptions are the PickOne/PickMany options of a PPD: each option's
// choices and default, by option keyword.
type ppdOptions struct {
	choices  map[string][]string
	defaults map[string]string
}

// has reports whether option offers choice.
func (o *ppdOptions) has(option, choice string) bool {
	return o != nil && slices.Contains(o.choices[option], choice)
}

// parsePPD reads the options of a PPD file: the keywords between *OpenUI
// and *CloseUI, their choices (the main keyword of each "*Option Choice"
// line, the text after '/' left out) and their *Default lines. It refuses
// what is not a PPD (no *PPD-Adobe line first) and a PPD over maxPPD
// bytes; lines it does not know are skipped, as PPD readers do.
func parsePPD(r io.Reader) (*ppdOptions, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxPPD+1))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	o := &ppdOptions{choices: map[string][]string{}, defaults: map[string]string{}}
	read, open := 0, ""
	for sc.Scan() {
		line := sc.Bytes()
		read += len(line) + 1
		if read > maxPPD {
			return nil, fmt.Errorf("PPD over %d bytes", maxPPD)
		}
		if read == len(line)+1 {
			if !bytes.HasPrefix(line, []byte("*PPD-Adobe:")) {
				return nil, errors.New("not a PPD file (no *PPD-Adobe line)")
			}
			continue
		}
		if len(line) < 2 || line[0] != '*' || line[1] == '%' {
			continue
		}
		key, rest, _ := strings.Cut(string(line[1:]), " ")
		key = strings.TrimSuffix(key, ":")
		switch {
		case key == "OpenUI":
			// *OpenUI *Option/Text: PickOne
			name, _, _ := strings.Cut(strings.TrimSpace(rest), ":")
			name, _, _ = strings.Cut(name, "/")
			if !strings.HasPrefix(name, "*") || len(name) < 2 {
				open = ""
				continue
			}
			open = name[1:]
			if _, ok := o.choices[open]; !ok {
				o.choices[open] = nil
			}
		case key == "CloseUI":
			open = ""
		case strings.HasPrefix(key, "Default") && len(key) > len("Default"):
			v, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
			o.defaults[key[len("Default"):]] = v
		case open != "" && key == open:
			// *Option Choice/Text: "code"
			choice, _, _ := strings.Cut(rest, ":")
			choice, _, _ = strings.Cut(choice, "/")
			if choice = strings.TrimSpace(choice); choice != "" && !slices.Contains(o.choices[open], choice) {
				o.choices[open] = append(o.choices[open], choice)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the PPD: %w", err)
	}
	if read == 0 {
		return nil, errors.New("not a PPD file (empty)")
	}
	return o, nil
}

// fetchPPD reads the queue's PPD from its address with .ppd added, as CUPS
// serves it. A queue without one (a driverless printer, not CUPS) answers
// 404: no options, no error.
func (d *Dev) fetchPPD(ctx context.Context) (*ppdOptions, error) {
	ctx, cancel := context.WithTimeout(ctx, d.o.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.c.url+".ppd", nil)
	if err != nil {
		return nil, err
	}
	resp, err := d.c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("queue %s: reading its PPD: %w", d.uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("queue %s: reading its PPD: HTTP %s", d.uri, resp.Status)
	}
	o, err := parsePPD(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("queue %s: its PPD: %w", d.uri, err)
	}
	return o, nil
}

// queueOptions returns the queue's PPD options, read once and kept (Identify
// reads them again). An error reading them is logged and the options last
// read (none at first) are used: the card then prints with the queue's own
// settings for the rest; the next card tries again.
func (d *Dev) queueOptions(ctx context.Context, refresh bool) *ppdOptions {
	d.ppdMu.Lock()
	defer d.ppdMu.Unlock()
	if d.ppdRead && !refresh {
		return d.ppd
	}
	o, err := d.fetchPPD(ctx)
	if err != nil {
		// Read again next time; meanwhile what was known, if anything.
		d.log.Warn("queue options not read: the queue's own settings apply", "err", err)
		return d.ppd
	}
	d.ppd, d.ppdRead = o, true
	return o
}

// jobOption is one PPD option sent as a job attribute.
type jobOption struct{ name, value string }

// Gutenprint's Magicard options, the ones cardd sets from the card.
const (
	optBlackType = "StpBlackType" // Composite (K from C, M and Y) or Resin
	optOvercoat  = "StpLaminate"  // overcoat on the front: Off or On
)

// cardOptions chooses the queue's options for card c from what the card
// carries, for the options the queue offers with the needed choice:
// resin black (StpBlackType=Resin) when a side has a K panel, composite
// black otherwise; the front's overcoat (StpLaminate=On) when the front has
// an overlay panel, Off otherwise. Gutenprint extracts the resin panel from
// the page where a dot is pure black, which is how the page carries the K
// panel (on top of the colour); a pure black dot of the colour image goes
// to resin too.
func cardOptions(o *ppdOptions, c *printer.Card) []jobOption {
	var opts []jobOption
	add := func(name, yes, no string, on bool) {
		v := no
		if on {
			v = yes
		}
		if o.has(name, v) {
			opts = append(opts, jobOption{name, v})
		}
	}
	add(optBlackType, "Resin", "Composite", c.Front.K != nil || (c.Back != nil && c.Back.K != nil))
	add(optOvercoat, "On", "Off", c.Front.Overlay != nil)
	return opts
}

// queuePanels is what the queue's options say its printer can lay down:
// colour when the queue prints colour (color-supported), resin black when
// it offers Gutenprint's resin black type, overlay when it offers the
// overcoat. nil when the queue says nothing of panels (no PPD, or options
// cardd does not know): the configured ribbon decides then.
func queuePanels(p *printerAttrs, o *ppdOptions) []printer.Panel {
	if o == nil {
		return nil
	}
	k, ov := o.has(optBlackType, "Resin"), o.has(optOvercoat, "On")
	if !k && !ov {
		return nil
	}
	var ps []printer.Panel
	if p.color {
		ps = append(ps, printer.PanelColor)
	}
	if k {
		ps = append(ps, printer.PanelK)
	}
	if ov {
		ps = append(ps, printer.PanelOverlay)
	}
	return ps
}
