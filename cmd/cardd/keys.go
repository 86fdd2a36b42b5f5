package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cardd/cardd/security"
)

// cmdKeys is "cardd keys": issuer signing keys and trust list entries.
func cmdKeys(ctx context.Context, e *env) error {
	return subcommands{
		help:    printKeysHelp,
		missing: "missing subcommand (generate, trust-entry, id)",
		unknown: "unknown keys subcommand %q (want generate, trust-entry or id)",
		table: map[string]func(context.Context, *env) error{
			"generate":    keysGenerate,
			"trust-entry": keysTrustEntry,
			"id":          keysID,
		},
	}.dispatch(ctx, e)
}

func printKeysHelp(e *env) {
	fmt.Fprint(e.stderr, `Usage: cardd keys SUBCOMMAND [flags]

Subcommands:
  generate     --out DIR [--alg ed25519|es256]   new issuer key pair; prints its kid
  trust-entry  --pub FILE --issuer URI [--not-before T] [--not-after T] [--append LIST]
               prints a trust list (or appends the key to LIST)
  id           FILE                               prints the kid of a public or private key file
`)
}

func keysGenerate(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "keys generate", "--out DIR [--alg ed25519|es256]",
		"Generates an issuer signing key: DIR/issuer.key (PKCS#8 PEM, mode 0600) and DIR/issuer.pub,\n"+
			"and prints the key ID (kid) that credentials signed with it carry.")
	out := fs.String("out", "", "directory to write the key pair into (created mode 0700)")
	algName := fs.String("alg", string(security.AlgEd25519), "signature algorithm: ed25519 or es256")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return usageError{"need --out DIR and no arguments"}
	}
	alg, err := security.ParseAlg(*algName)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	key, err := security.GenerateKey(alg)
	if err != nil {
		return err
	}
	kid, err := security.WriteKeyPair(*out, key)
	if err != nil {
		return fmt.Errorf("keys generate --out %s: %w", *out, err)
	}
	fmt.Fprintf(e.stdout, "kid %s\nalg %s\nprivate %s/%s\npublic %s/%s\n", kid, alg, *out, security.PrivateKeyFile, *out, security.PublicKeyFile)
	return nil
}

func keysTrustEntry(_ context.Context, e *env) error {
	fs := newFlagSet(e, "keys trust-entry", "--pub FILE --issuer URI [--not-before RFC3339] [--not-after RFC3339] [--append LIST]",
		"Prints a JSON trust list holding the public key, for \"cardd verify --trust\". With --append,\n"+
			"adds the key to an existing trust list file instead (written atomically).")
	pubPath := fs.String("pub", "", "public key PEM file (from keys generate)")
	issuer := fs.String("issuer", "", "issuer URI the key signs for (the credential's iss)")
	nb := fs.String("not-before", "", "first issue time the key is trusted for (RFC 3339; empty = unbounded)")
	na := fs.String("not-after", "", "last issue time the key is trusted for (RFC 3339; empty = unbounded)")
	appendTo := fs.String("append", "", "trust list file to add the entry to")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *pubPath == "" || *issuer == "" || fs.NArg() != 0 {
		return usageError{"need --pub FILE and --issuer URI"}
	}
	var notBefore, notAfter time.Time
	for _, p := range []struct {
		name string
		v    string
		dst  *time.Time
	}{{"--not-before", *nb, &notBefore}, {"--not-after", *na, &notAfter}} {
		if p.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, p.v)
		if err != nil {
			return usageError{fmt.Sprintf("%s: %v", p.name, err)}
		}
		*p.dst = t
	}
	pub, err := security.LoadPublicKey(*pubPath)
	if err != nil {
		return err
	}
	entry, err := security.NewTrustEntry(*issuer, pub, notBefore, notAfter)
	if err != nil {
		return err
	}
	entries := []security.TrustEntry{entry}
	if *appendTo != "" {
		tl, err := security.LoadTrustList(*appendTo)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if tl != nil {
			entries = append(tl.Entries(), entry)
		}
	}
	if _, err := security.NewTrustList(entries...); err != nil {
		return err
	}
	b, err := security.MarshalTrustList(entries)
	if err != nil {
		return err
	}
	if *appendTo == "" {
		_, err = e.stdout.Write(b)
		return err
	}
	if err := security.WriteFileAtomic(*appendTo, b, 0o644); err != nil {
		return fmt.Errorf("trust list %s: %w", *appendTo, err)
	}
	fmt.Fprintf(e.stdout, "added kid %s for %s to %s\n", entry.KID, entry.Issuer, *appendTo)
	return nil
}

func keysID(_ context.Context, e *env) error {
	fs := newFlagSet(e, "keys id", "FILE", "Prints the key ID (kid) of a PEM public or private key file.")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"need exactly one key file"}
	}
	path := fs.Arg(0)
	pub, err := security.LoadPublicKey(path)
	if err != nil {
		priv, perr := security.LoadPrivateKey(path)
		if perr != nil {
			return fmt.Errorf("%w; as a private key: %w", err, perr)
		}
		pub = priv.Public()
	}
	kid, err := security.KeyIDOf(pub)
	if err != nil {
		return err
	}
	alg, err := security.AlgOf(pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "kid %s\nalg %s\n", kid, alg)
	return nil
}
