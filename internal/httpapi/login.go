package httpapi

import (
	"context"
	"crypto/subtle"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// TokenCookie is the cookie in which a browser presents the bearer token
// after signing in at /ui/login (browsers cannot add an Authorization
// header to a page load). It is HttpOnly, Secure and SameSite=Strict.
const TokenCookie = "cardd_token"

type authKey struct{}

// Authenticated returns how the request was authenticated: "token" (a
// bearer header or the sign-in cookie), "cert:NAME" (a client
// certificate's common name) or "" (loopback without a token).
func Authenticated(ctx context.Context) string {
	s, _ := ctx.Value(authKey{}).(string)
	return s
}

// withAuth records how r was authenticated in its context.
func withAuth(r *http.Request, how string) *http.Request {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && how == "" {
		how = "cert:" + r.TLS.PeerCertificates[0].Subject.CommonName
	}
	if how == "" {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), authKey{}, how))
}

// tokenOK reports whether r carries the token, in the Authorization
// header or the sign-in cookie.
func (s *Server) tokenOK(r *http.Request) bool {
	if got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) == 1
	}
	if c, err := r.Cookie(TokenCookie); err == nil {
		return subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.token)) == 1
	}
	return false
}

// open reports whether a path is served without the token: health, and
// the dashboard's sign-in page with its style sheet.
func open(path string) bool {
	return path == "/healthz" || path == "/ui/login" || path == "/ui/static/style.css"
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in — cardd</title><link rel="stylesheet" href="/ui/static/style.css"></head>
<body><header><div class="brand">cardd <span class="station">{{.Station}}</span></div></header>
<main><h1>Sign in</h1>{{with .Err}}<p class="flash err">{{.}}</p>{{end}}
<form method="post" action="/ui/login" class="act"><input type="password" name="token" autocomplete="current-password" placeholder="station token" aria-label="station token" required autofocus><button type="submit">Sign in</button></form>
</main></body></html>`))

// login is the dashboard's sign-in page (only with a token): POSTing the
// token sets TokenCookie. Cross-site posts are refused.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
	w.Header().Set("Cache-Control", "no-store")
	data := struct{ Station, Err string }{Station: s.o.Station}
	if r.Method == http.MethodPost {
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			http.Error(w, "forbidden: cross-site sign-in", http.StatusForbidden)
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			if u, err := url.Parse(o); err != nil || !strings.EqualFold(u.Host, r.Host) {
				http.Error(w, "forbidden: cross-site sign-in", http.StatusForbidden)
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		tok := r.PostFormValue("token")
		if subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) == 1 {
			http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: s.token, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
			s.o.Log.Info("dashboard sign-in", "remote", r.RemoteAddr)
			http.Redirect(w, r, "/ui/", http.StatusSeeOther)
			return
		}
		s.o.Log.Warn("dashboard sign-in refused", "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusUnauthorized)
		data.Err = "That is not the station's token."
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := loginPage.Execute(w, data); err != nil {
		s.o.Log.Debug("login page: write", "err", err)
	}
}
