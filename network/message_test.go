package network_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/spool/jobfile"
)

func testJob(id string) *jobfile.Job {
	return &jobfile.Job{ID: id, Template: "temporary", Permanent: true, PermanentTemplate: "permanent", Photo: "photo.jpg",
		Fields: map[string]string{"surname": "Doe", "given_names": "Jane Émilie"}}
}

func TestNames(t *testing.T) {
	for _, id := range []string{"CASE-1", "a.b.c", "x_y-z.0"} {
		tok := network.JobToken(id)
		if strings.Contains(tok, ".") {
			t.Errorf("token %q has a dot", tok)
		}
		back, err := network.JobIDOfToken(tok)
		if err != nil || back != id {
			t.Errorf("JobIDOfToken(%q) = %q, %v", tok, back, err)
		}
		office, got, err := network.ParseRequestSubject(network.RequestSubject("office-a", id))
		if err != nil || office != "office-a" || got != id {
			t.Errorf("ParseRequestSubject = %q %q %v", office, got, err)
		}
	}
	for _, bad := range []string{"", "-a", "a.b", "a*", "a>", strings.Repeat("x", 33), "a b"} {
		if network.SiteName(bad) == nil {
			t.Errorf("SiteName(%q) accepted", bad)
		}
	}
	for _, subj := range []string{"cardd.req.a", "cardd.req.a.b.c", "cardd.evt.a.b", "cardd.req..x", "cardd.req.a.-x"} {
		if _, _, err := network.ParseRequestSubject(subj); err == nil {
			t.Errorf("ParseRequestSubject(%q) accepted", subj)
		}
	}
	long := strings.Repeat("J", 64)
	c1, c2 := network.CentralJobID("office-a", long), network.CentralJobID("office-a", long[:63]+"K")
	if len(c1) > jobfile.MaxIDLen || c1 == c2 || jobfile.ValidID(c1) != nil {
		t.Errorf("CentralJobID: %q %q", c1, c2)
	}
	if got := network.CentralJobID("o", "CASE-1"); got != "o.CASE-1" {
		t.Errorf("CentralJobID = %q", got)
	}
	if got := network.RevokedKey("c1", "CARD-01-0000001-*"); got != "c1.CARD-01-0000001-_" {
		t.Errorf("RevokedKey = %q", got)
	}
}

func TestPermissions(t *testing.T) {
	p, err := network.PermissionsFor("office-a", network.RoleFieldOffice)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(p.Publish, p.Subscribe...) {
		if strings.Contains(s, "office-b") || strings.Contains(s, network.StreamRequests) {
			t.Errorf("office permission %q reaches beyond the office", s)
		}
		if s == ">" || strings.HasPrefix(s, "$JS.API.>") || strings.HasPrefix(s, "cardd.>") || strings.HasPrefix(s, "cardd.evt.*") {
			t.Errorf("office permission %q is too wide", s)
		}
	}
	if len(p.Subscribe) != 1 || p.Subscribe[0] != "_INBOX_office-a.>" {
		t.Errorf("subscribe = %q", p.Subscribe)
	}
	if _, err := network.PermissionsFor("a.b", network.RoleCentral); err == nil {
		t.Error("bad site name accepted")
	}
	if _, err := network.PermissionsFor("a", "boss"); err == nil {
		t.Error("unknown role accepted")
	}
}

func TestRequestRoundTrip(t *testing.T) {
	photo := bytes.Repeat([]byte{0xff, 0xd8, 1, 2}, 1000)
	r := &network.Request{Office: "office-a", Job: testJob("CASE.7"), Photo: photo, Sent: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	data, err := network.EncodeRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	subj := network.RequestSubject("office-a", "CASE.7")
	got, err := network.DecodeRequest(subj, data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Office != "office-a" || got.Job.ID != "CASE.7" || !bytes.Equal(got.Photo, photo) || !got.Sent.Equal(r.Sent) || got.Job.Fields["given_names"] != "Jane Émilie" || !got.Job.Permanent {
		t.Fatalf("decoded %+v", got)
	}
	// On another office's subject, for another job, or damaged: refused
	// with the field named.
	cases := []struct {
		subj  string
		data  []byte
		field string
	}{
		{network.RequestSubject("office-b", "CASE.7"), data, "office"},
		{network.RequestSubject("office-a", "CASE.8"), data, "job.id"},
		{subj, append(bytes.Clone(data[:len(data)-1]), 0), "photo_sha256"},
		{subj, data[:len(data)-1], "photo_bytes"},
		{subj, bytes.Replace(data, []byte(`"v":1`), []byte(`"v":2`), 1), "v"},
		{subj, bytes.Replace(data, []byte(`"surname"`), []byte(`"Surname"`), 1), "job"},
		{"cardd.req.office-a", data, "subject"},
	}
	for _, c := range cases {
		_, err := network.DecodeRequest(c.subj, c.data)
		var de *network.DecodeError
		if !errors.As(err, &de) || de.Field != c.field {
			t.Errorf("%s: err = %v, want field %s", c.subj, err, c.field)
		}
	}
}

func TestEventRoundTrip(t *testing.T) {
	e := &network.Event{Office: "office-a", Job: "CASE.7", Kind: network.EventPrinted, Host: "central-1", Serial: "CARD-01-0000001-*", Time: time.Now(), Reason: "line1\nline2"}
	data, err := network.EncodeEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := network.DecodeEvent(network.EventSubject("office-a", "CASE.7"), data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != e.Serial || got.Kind != e.Kind || got.Reason != "line1 line2" || got.ID() != e.ID() {
		t.Fatalf("decoded %+v", got)
	}
	if _, err := network.DecodeEvent(network.EventSubject("office-b", "CASE.7"), data); err == nil {
		t.Fatal("event accepted on another office's subject")
	}
	bad := bytes.Replace(data, []byte(`"printed"`), []byte(`"exploded"`), 1)
	if _, err := network.DecodeEvent(network.EventSubject("office-a", "CASE.7"), bad); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

func FuzzDecodeRequest(f *testing.F) {
	data, _ := network.EncodeRequest(&network.Request{Office: "o", Job: testJob("J1"), Photo: []byte("PHOTO"), Sent: time.Unix(0, 0)})
	f.Add("cardd.req.o.J1", data)
	f.Add("cardd.req.o.J1", []byte("{}\n"))
	f.Add("cardd.req.o.J=1", []byte(`{"v":1,"office":"o","job":{"id":"J.1","template":"t"},"photo_bytes":0}`+"\n"))
	f.Fuzz(func(t *testing.T, subj string, data []byte) {
		r, err := network.DecodeRequest(subj, data)
		if err != nil {
			var de *network.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		// Whatever decodes encodes again and decodes to the same job.
		again, err := network.EncodeRequest(r)
		if err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
		r2, err := network.DecodeRequest(subj, again)
		if err != nil || r2.Job.ID != r.Job.ID || !bytes.Equal(r2.Photo, r.Photo) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	e := &network.Event{Office: "o", Job: "J.1", Kind: network.EventFailed, Host: "c", Field: "photo", Reason: "bad", Time: time.Unix(1, 0)}
	data, _ := network.EncodeEvent(e)
	f.Add("cardd.evt.o.J=1", data)
	f.Add("cardd.evt.o.J1", []byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, subj string, data []byte) {
		e, err := network.DecodeEvent(subj, data)
		if err != nil {
			return
		}
		again, err := network.EncodeEvent(e)
		if err != nil {
			t.Fatalf("decoded event does not encode: %v", err)
		}
		if _, err := network.DecodeEvent(subj, again); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzDecodeRevocation(f *testing.F) {
	subj, data, _ := network.EncodeRevocation(&network.Revocation{Serial: "CARD-01-0000001-*", Station: "office-a", Reason: "void: lost", Time: time.Unix(5, 0)})
	f.Add(subj, data)
	f.Add("$KV.cardd_revoked.b.X", []byte(`{"serial":"X","station":"a","time":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, subj string, data []byte) {
		r, err := network.DecodeRevocation(subj, data)
		if err != nil {
			return
		}
		s2, d2, err := network.EncodeRevocation(r)
		if err != nil || s2 != subj {
			t.Fatalf("decoded revocation re-encodes to %q (%v), received on %q", s2, err, subj)
		}
		if _, err := network.DecodeRevocation(s2, d2); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzDecodeCheckpoint(f *testing.F) {
	subj, data, _ := network.EncodeCheckpoint(&network.Checkpoint{Station: "office-a", Records: 5, Head: strings.Repeat("ab", 32), Time: time.Unix(5, 0)})
	f.Add(subj, data)
	f.Add("cardd.ckpt.x", []byte(`{"v":1,"station":"x","records":1,"head":"00"}`))
	f.Fuzz(func(t *testing.T, subj string, data []byte) {
		cp, err := network.DecodeCheckpoint(subj, data)
		if err != nil {
			return
		}
		s2, _, err := network.EncodeCheckpoint(cp)
		if err != nil || s2 != subj {
			t.Fatalf("decoded checkpoint re-encodes to %q (%v), received on %q", s2, err, subj)
		}
	})
}
