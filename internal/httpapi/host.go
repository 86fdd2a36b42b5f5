package httpapi

import (
	"net"
	"net/http"
	"strings"
)

// hostAllow decides which Host headers the endpoint answers. A browser
// sends the name it resolved in Host; a page on a name the attacker
// rebinds to this machine (DNS rebinding) therefore carries the attacker's
// name, and, being same-origin with itself, a matching Origin. Checking
// Host against the names the station is really reached under closes that
// door for reads and actions alike.
type hostAllow struct {
	names map[string]bool // lower case, no trailing dot
	ip    net.IP          // the listen address's IP, if it is one
	anyIP bool            // listening on all interfaces: any IP literal
}

// newHostAllow allows "localhost", the loopback addresses, the listen
// address's host and the extra names.
func newHostAllow(listen string, extra []string) *hostAllow {
	a := &hostAllow{names: map[string]bool{"localhost": true}}
	for _, n := range extra {
		a.names[canonHost(n)] = true
	}
	if host, _, err := net.SplitHostPort(listen); err == nil {
		switch ip := net.ParseIP(strings.Trim(host, "[]")); {
		case host == "" || ip != nil && ip.IsUnspecified():
			a.anyIP = true
		case ip != nil:
			a.ip = ip
		default:
			a.names[canonHost(host)] = true
		}
	}
	return a
}

// allowed reports whether a request's Host header names this endpoint.
func (a *hostAllow) allowed(host string) bool {
	name := canonHost(hostOnly(host))
	if name == "" {
		return false
	}
	if ip := net.ParseIP(strings.Trim(name, "[]")); ip != nil {
		// An IP literal cannot be rebound: a page can only be
		// same-origin with it if this server served it.
		return ip.IsLoopback() || a.anyIP || a.ip != nil && a.ip.Equal(ip)
	}
	return a.names[name]
}

// hostOnly strips the port from a Host header value ("name:port",
// "[v6]:port").
func hostOnly(host string) string {
	if strings.HasPrefix(host, "[") {
		// Only "[v6]" or "[v6]:port"; anything after the bracket is
		// not a port and leaves the whole value (which matches nothing).
		if i := strings.IndexByte(host, ']'); i > 0 && (i == len(host)-1 || host[i+1] == ':') {
			return host[:i+1]
		}
		return host
	}
	if strings.Count(host, ":") == 1 {
		return host[:strings.IndexByte(host, ':')]
	}
	return host
}

func canonHost(h string) string { return strings.ToLower(strings.TrimSuffix(h, ".")) }

func isLoopbackIP(s string) bool {
	ip := net.ParseIP(strings.Trim(s, "[]"))
	return ip != nil && ip.IsLoopback()
}

// checkHost refuses, with 421 Misdirected Request, a request whose Host
// is not one of the endpoint's names.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts.allowed(r.Host) {
			s.o.Log.Warn("request refused: Host is not a name of this station (DNS rebinding?); add it to http.allowed_hosts if it is",
				"host", clipHost(r.Host), "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "misdirected request: this station does not answer to that host name (see http.allowed_hosts)", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func clipHost(h string) string {
	if len(h) > 64 {
		return h[:64] + "…"
	}
	return h
}
