package natstest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/network/hub"
)

// TestREADMEHubConfig checks the node configuration the README's "Scale
// out" section shows: with its certificate files made here and the users
// file network/hub renders, the real server accepts it (nats-server -t).
func TestREADMEHubConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nats-server; skipped with -short")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, "\nserver_name: hub1\n")
	if i < 0 {
		t.Fatal("README has no node configuration starting with server_name: hub1")
	}
	conf := text[i+1:]
	conf = conf[:strings.Index(conf, "```")]

	dir := t.TempDir()
	cert, key := writeSelfSigned(t, dir)
	repl := strings.NewReplacer(
		"/etc/nats/hub1.pem", cert,
		"/etc/nats/hub1.key", key,
		"/etc/nats/stations-ca.pem", cert,
		"/etc/nats/hub-ca.pem", cert,
		"/var/lib/nats/jetstream", filepath.Join(dir, "js"),
	)
	conf = repl.Replace(conf)
	if strings.Contains(conf, "/etc/") || strings.Contains(conf, "/var/") {
		t.Fatalf("the README's configuration names a file this test does not make:\n%s", conf)
	}
	users, err := hub.RenderConfig([]hub.User{
		{Name: "office-north", Role: network.RoleFieldOffice, Password: "p1"},
		{Name: "central", Role: network.RoleCentral, Password: "p2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cardd-users.conf"), users, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hub.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	bin, err := Binary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, bin, "-t", "-c", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is valid") {
		t.Fatalf("nats-server -t: %v\n%s\n--- configuration ---\n%s", err, out, conf)
	}
}

// writeSelfSigned writes a self-signed certificate (for hub1.example) and
// its key as PEM files in dir.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hub1.example"},
		DNSNames: []string{"hub1.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
