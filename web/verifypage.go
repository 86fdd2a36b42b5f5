package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // the built page assets
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/cardd/cardd/security"
)

// The built assets (web/build.sh writes them) and the page template.
var (
	//go:embed dist/verifier.js
	bundleJS []byte
	//go:embed dist/verifier.css
	bundleCSS []byte
	//go:embed dist/manifest.json
	manifestJSON []byte
	//go:embed page.html
	pageHTML string
)

// pageTemplate is parsed once; templates are safe for concurrent use.
var pageTemplate = template.Must(template.New("verify").Parse(pageHTML))

// DefaultTitle is the page's title when PageOptions.Title is empty.
const DefaultTitle = "Card verifier"

// PageOptions is what goes into a verifier page.
type PageOptions struct {
	// Trust is the list of issuer keys the page accepts. A nil list trusts
	// no key: every card then shows "unknown key".
	Trust *security.TrustList
	// Deny lists the revoked card serials; nil denies none.
	Deny *security.DenyList
	// Title is shown at the top of the page; empty means DefaultTitle.
	Title string
	// Generated is when the page was made, shown on it; zero leaves it out.
	Generated time.Time
}

// Bundle returns a copy of the embedded script bundle.
func Bundle() []byte { return bytes.Clone(bundleJS) }

// Manifest describes the embedded build: the hash of its sources and of
// each output file, as web/build.mjs wrote them.
type Manifest struct {
	// SourcesSHA256 is the SHA-256 of the sha256sum-style listing of
	// Sources.
	SourcesSHA256 string `json:"sources_sha256"`
	// Sources are the build's inputs, relative to web/.
	Sources []string `json:"sources"`
	// Outputs maps each built file (relative to web/) to its SHA-256.
	Outputs map[string]string `json:"outputs"`
}

// EmbeddedManifest returns the manifest of the embedded build.
func EmbeddedManifest() (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(manifestJSON, &m); err != nil {
		return m, fmt.Errorf("verifier page manifest: %w", err)
	}
	return m, nil
}

// pageData fills page.html.
type pageData struct {
	Title       string
	Generated   time.Time
	CSP         string
	CSS         template.CSS
	JS          template.JS
	Trust, Deny template.JS
}

// cspHash returns the CSP source expression for an inline element's text.
func cspHash(b []byte) string {
	sum := sha256.Sum256(b)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// contentSecurityPolicy allows the page's own inline script and style (by
// hash), images from blob: URLs (the face thumbnail) and the camera
// stream, and nothing else: no request may leave the page.
func contentSecurityPolicy() string {
	return "default-src 'none'; script-src " + cspHash(bundleJS) + "; style-src " + cspHash(bundleCSS) +
		"; img-src blob:; media-src blob: mediastream:; connect-src 'none'; form-action 'none'; base-uri 'none'"
}

// listsJSON returns the trust and deny lists in their file formats, as JSON
// safe to place inside a script element (json.Marshal escapes <, > and &).
func listsJSON(trust *security.TrustList, deny *security.DenyList) (trustJSON, denyJSON []byte, err error) {
	var entries []security.TrustEntry
	if trust != nil {
		entries = trust.Entries()
	}
	if entries == nil {
		entries = []security.TrustEntry{}
	}
	trustJSON, err = json.Marshal(struct {
		Keys []security.TrustEntry `json:"keys"`
	}{entries})
	if err != nil {
		return nil, nil, fmt.Errorf("verifier page: trust list: %w", err)
	}
	if deny == nil {
		deny = security.NewDenyList(time.Time{}, nil)
	}
	serials := deny.Serials
	if serials == nil {
		serials = []string{}
	}
	denyJSON, err = json.Marshal(struct {
		Generated time.Time `json:"generated,omitzero"`
		Serials   []string  `json:"serials"`
	}{deny.Generated.UTC(), serials})
	if err != nil {
		return nil, nil, fmt.Errorf("verifier page: deny list: %w", err)
	}
	return trustJSON, denyJSON, nil
}

// WritePage writes the verifier page, one self-contained HTML file with
// the script, the style sheet, the trust list and the deny list inline.
func WritePage(w io.Writer, opts PageOptions) error {
	if len(bundleJS) == 0 {
		return errors.New("verifier page: the embedded script bundle is empty; run web/build.sh")
	}
	trustJSON, denyJSON, err := listsJSON(opts.Trust, opts.Deny)
	if err != nil {
		return err
	}
	title := opts.Title
	if title == "" {
		title = DefaultTitle
	}
	d := pageData{
		Title: title, Generated: opts.Generated, CSP: contentSecurityPolicy(),
		CSS: template.CSS(bundleCSS), JS: template.JS(bundleJS),
		Trust: template.JS(trustJSON), Deny: template.JS(denyJSON),
	}
	if err := pageTemplate.Execute(w, d); err != nil {
		return fmt.Errorf("verifier page: %w", err)
	}
	return nil
}

// Page returns the verifier page as bytes (see WritePage).
func Page(opts PageOptions) ([]byte, error) {
	var b bytes.Buffer
	if err := WritePage(&b, opts); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// PageSource returns the options of the page to serve for a request, such
// as the station's current trust and deny lists.
type PageSource func(ctx context.Context) (PageOptions, error)

// VerifyHandler returns the handler of the verifier page (the daemon mounts
// it at /verify). Each GET or HEAD asks src for the current lists, so a new
// deny list is served without a restart. The page is sent with its
// Content-Security-Policy as a header too, and is never cached by shared
// caches. Errors are logged to log and answered with status 500, without
// detail.
func VerifyHandler(src PageSource, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		opts, err := src(r.Context())
		if err != nil {
			log.ErrorContext(r.Context(), "verifier page: lists", "err", err)
			http.Error(w, "verifier page unavailable", http.StatusInternalServerError)
			return
		}
		page, err := Page(opts)
		if err != nil {
			log.ErrorContext(r.Context(), "verifier page: render", "err", err)
			http.Error(w, "verifier page unavailable", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(page)))
		h.Set("Content-Security-Policy", contentSecurityPolicy())
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "private, no-cache")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		if _, err := w.Write(page); err != nil {
			log.DebugContext(r.Context(), "verifier page: write", "err", err)
		}
	})
}
