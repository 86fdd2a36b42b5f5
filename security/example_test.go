package security_test

import (
	"fmt"
	"time"

	"github.com/cardd/cardd/security"
)

// Signing a card's credential and verifying it as an officer's verifier
// would, offline, with the issuer's trust list entry.
func Example() {
	key, _ := security.GenerateKey(security.AlgEd25519)
	signer, _ := security.NewSigner(key)

	serial, _ := security.NewSerial("EXMP", "01", 1234)
	issued := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	text, err := signer.Sign(security.Credential{
		Issuer: "https://id.example.org", IssuedAt: issued, Expires: issued.AddDate(0, 0, 30),
		ID: serial.String(), FullName: "AMINA OKAFOR", DateOfBirth: "19870412",
		CardType: security.CardTemporary,
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	entry, _ := security.NewTrustEntry("https://id.example.org", signer.Public(), time.Time{}, time.Time{})
	trust, _ := security.NewTrustList(entry)
	now := func() time.Time { return issued.Add(time.Hour) }
	res := security.NewVerifier(trust, nil, now).Verify(text)
	fmt.Println(res.Verdict, res.Credential.ID, res.Credential.FullName)

	// The same card after it was voided.
	deny := security.NewDenyList(issued, []string{serial.String()})
	fmt.Println(security.NewVerifier(trust, deny, now).Verify(text).Verdict)
	// Output:
	// valid EXMP-01-0001234-4 AMINA OKAFOR
	// revoked
}
