package jobfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodTOML = `id = "CASE-2026-000123"
template = "temporary"
mode = "temporary"
photo = "photo.jpg"

[fields]
surname = "Doe"
given_names = "Jane Émilie"

[magnetic]
track1 = "B1234567890123456^DOE/JANE^2612"
track2 = "1234567890123456=2612"
`

const goodJSON = `{"id":"J-1","template":"permanent","photo":"p.jpg",
 "fields":{"surname":"Ng"},"reprint_of":"J-0","reprint_reason":"card damaged"}`

func TestParseGood(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, data string
		check            func(t *testing.T, j *Job)
	}{
		{"toml", "job.toml", goodTOML, func(t *testing.T, j *Job) {
			if j.ID != "CASE-2026-000123" || j.Template != "temporary" || j.Mode != ModeTemporary {
				t.Errorf("got %+v", j)
			}
			if j.Fields["given_names"] != "Jane Émilie" || j.Magnetic == nil || j.Magnetic.Track2 != "1234567890123456=2612" {
				t.Errorf("fields/mag: %+v %+v", j.Fields, j.Magnetic)
			}
		}},
		{"json", "job.json", goodJSON, func(t *testing.T, j *Job) {
			if j.ID != "J-1" || j.ReprintOf != "J-0" || j.ReprintReason != "card damaged" || j.Fields["surname"] != "Ng" {
				t.Errorf("got %+v", j)
			}
		}},
		{"json sniffed", "job", "  \n" + goodJSON, func(t *testing.T, j *Job) {
			if j.ID != "J-1" {
				t.Errorf("got %+v", j)
			}
		}},
		{"toml sniffed", "job", goodTOML, func(t *testing.T, j *Job) {
			if j.ID != "CASE-2026-000123" {
				t.Errorf("got %+v", j)
			}
		}},
		{"no photo no fields", "j.toml", "id = \"a\"\ntemplate = \"t\"\n", func(t *testing.T, j *Job) {
			if j.Photo != "" || len(j.Fields) != 0 {
				t.Errorf("got %+v", j)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j, err := Parse(tc.file, []byte(tc.data))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if j.File != tc.file {
				t.Errorf("File = %q", j.File)
			}
			tc.check(t, j)
		})
	}
}

func TestParseBad(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 10000)
	manyFields := "id = \"a\"\ntemplate = \"t\"\n[fields]\n"
	for i := 0; i < MaxFields+1; i++ {
		manyFields += "f" + strings.Repeat("a", i%20) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " = \"v\"\n"
	}
	tests := []struct {
		name, file, data string
		want             error
		field            string
		jobID            string
	}{
		{"zero bytes", "j.toml", "", ErrSyntax, "", ""},
		{"malformed toml", "j.toml", "id = \"a\ntemplate=", ErrSyntax, "", ""},
		{"malformed json", "j.json", `{"id": "a",`, ErrSyntax, "", ""},
		{"json trailing", "j.json", `{"id":"a","template":"t"} {}`, ErrSyntax, "", ""},
		{"json unknown key", "j.json", `{"id":"a","template":"t","evil":1}`, ErrSyntax, "", ""},
		{"toml unknown key", "j.toml", "id = \"a\"\ntemplate = \"t\"\nevil = 1\n", ErrInvalid, "evil", ""},
		{"json wrong type", "j.json", `{"id":1,"template":"t"}`, ErrSyntax, "", ""},
		{"too big file", "j.toml", "id = \"a\"\n#" + strings.Repeat("x", MaxFileBytes), ErrTooLarge, "", ""},
		{"non utf8 file", "j.toml", "id = \"a\xff\"\ntemplate = \"t\"\n", ErrInvalid, "", ""},
		{"missing id", "j.toml", "template = \"t\"\n", ErrInvalid, "id", ""},
		{"id charset", "j.toml", "id = \"a b\"\ntemplate = \"t\"\n", ErrInvalid, "id", ""},
		{"id leading dot", "j.toml", "id = \".a\"\ntemplate = \"t\"\n", ErrInvalid, "id", ""},
		{"id slash", "j.toml", "id = \"../x\"\ntemplate = \"t\"\n", ErrInvalid, "id", ""},
		{"id too long", "j.toml", "id = \"" + long + "\"\ntemplate = \"t\"\n", ErrTooLarge, "id", ""},
		{"missing template", "j.toml", "id = \"a\"\n", ErrInvalid, "template", "a"},
		{"bad mode", "j.toml", "id = \"a\"\ntemplate = \"t\"\nmode = \"x\"\n", ErrInvalid, "mode", "a"},
		{"10k field", "j.toml", "id = \"a\"\ntemplate = \"t\"\n[fields]\nname = \"" + long + "\"\n", ErrTooLarge, "fields.name", "a"},
		{"too many fields", "j.toml", manyFields, ErrTooLarge, "fields", "a"},
		{"bad key", "j.toml", "id = \"a\"\ntemplate = \"t\"\n[fields]\n\"Name\" = \"v\"\n", ErrInvalid, "fields.Name", "a"},
		{"control char", "j.json", `{"id":"a","template":"t","fields":{"name":"a\u0007b"}}`, ErrInvalid, "fields.name", "a"},
		{"newline in value", "j.json", `{"id":"a","template":"t","fields":{"name":"a\nb"}}`, ErrInvalid, "fields.name", "a"},
		{"non utf8 value json escape", "j.json", `{"id":"a","template":"t","fields":{"name":"\udc00"}}`, ErrInvalid, "fields.name", "a"},
		{"absolute photo", "j.toml", "id = \"a\"\ntemplate = \"t\"\nphoto = \"/etc/passwd\"\n", ErrPathEscape, "photo", "a"},
		{"dotdot photo", "j.toml", "id = \"a\"\ntemplate = \"t\"\nphoto = \"../x.jpg\"\n", ErrPathEscape, "photo", "a"},
		{"subdir photo", "j.toml", "id = \"a\"\ntemplate = \"t\"\nphoto = \"d/x.jpg\"\n", ErrPathEscape, "photo", "a"},
		{"backslash photo", "j.toml", "id = \"a\"\ntemplate = \"t\"\nphoto = 'd\\x.jpg'\n", ErrPathEscape, "photo", "a"},
		{"hidden photo", "j.toml", "id = \"a\"\ntemplate = \"t\"\nphoto = \".x\"\n", ErrInvalid, "photo", "a"},
		{"track1 lower case", "j.toml", "id = \"a\"\ntemplate = \"t\"\n[magnetic]\ntrack1 = \"abc\"\n", ErrInvalid, "magnetic.track1", "a"},
		{"track1 sentinel", "j.toml", "id = \"a\"\ntemplate = \"t\"\n[magnetic]\ntrack1 = \"%AB\"\n", ErrInvalid, "magnetic.track1", "a"},
		{"track1 too long", "j.toml", "id = \"a\"\ntemplate = \"t\"\n[magnetic]\ntrack1 = \"" + strings.Repeat("A", MaxTrack1+1) + "\"\n", ErrTooLarge, "magnetic.track1", "a"},
		{"track2 letter", "j.toml", "id = \"a\"\ntemplate = \"t\"\n[magnetic]\ntrack2 = \"12A\"\n", ErrInvalid, "magnetic.track2", "a"},
		{"track2 too long", "j.toml", "id = \"a\"\ntemplate = \"t\"\n[magnetic]\ntrack2 = \"" + strings.Repeat("1", MaxTrack2+1) + "\"\n", ErrTooLarge, "magnetic.track2", "a"},
		{"track3 too long", "j.toml", "id = \"a\"\ntemplate = \"t\"\n[magnetic]\ntrack3 = \"" + strings.Repeat("1", MaxTrack3+1) + "\"\n", ErrTooLarge, "magnetic.track3", "a"},
		{"reprint without reason", "j.toml", "id = \"a\"\ntemplate = \"t\"\nreprint_of = \"b\"\n", ErrInvalid, "reprint_reason", "a"},
		{"reprint of self", "j.toml", "id = \"a\"\ntemplate = \"t\"\nreprint_of = \"a\"\nreprint_reason = \"r\"\n", ErrInvalid, "reprint_of", "a"},
		{"reason without reprint", "j.toml", "id = \"a\"\ntemplate = \"t\"\nreprint_reason = \"r\"\n", ErrInvalid, "reprint_reason", "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j, err := Parse(tc.file, []byte(tc.data))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", j)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			var je *Error
			if !errors.As(err, &je) {
				t.Fatalf("err %T is not *Error", err)
			}
			if je.File != tc.file || je.Field != tc.field || je.JobID != tc.jobID {
				t.Errorf("Error{File %q Field %q JobID %q}, want {%q %q %q}", je.File, je.Field, je.JobID, tc.file, tc.field, tc.jobID)
			}
			if !strings.Contains(err.Error(), tc.file) {
				t.Errorf("message %q does not name the file", err)
			}
			if len(err.Error()) > 400 {
				t.Errorf("message is %d bytes long; hostile input echoed back?", len(err.Error()))
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestPhoto(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "job")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(root, "secret.jpg")
	writeFile(t, secret, []byte("outside"))
	writeFile(t, filepath.Join(dir, "ok.jpg"), []byte("portrait"))
	writeFile(t, filepath.Join(dir, "big.jpg"), bytes.Repeat([]byte{1}, 2000))
	if err := os.Symlink(secret, filepath.Join(dir, "link.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("ok.jpg", filepath.Join(dir, "inner.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.jpg"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		photo string
		max   int64
		want  error // nil: success
	}{
		{"ok.jpg", 100, nil},
		{"big.jpg", 100, ErrTooLarge},
		{"big.jpg", 2000, nil},
		{"link.jpg", 100, ErrSymlink},
		{"inner.jpg", 100, ErrSymlink},
		{"sub.jpg", 100, ErrNotRegular},
		{"missing.jpg", 100, ErrMissing},
		{"../secret.jpg", 100, ErrPathEscape},
		{secret, 100, ErrPathEscape},
		{"", 100, ErrMissing},
	}
	for _, tc := range tests {
		t.Run(tc.photo, func(t *testing.T) {
			t.Parallel()
			j := &Job{ID: "job-1", Template: "t", Photo: tc.photo, File: "job.toml"}
			data, err := j.ReadPhoto(dir, tc.max)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("ReadPhoto: %v", err)
				}
				if len(data) == 0 {
					t.Error("no data")
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var je *Error
			if !errors.As(err, &je) || je.JobID != "job-1" || je.Field != "photo" || je.File != "job.toml" {
				t.Errorf("error %v does not name job, file and field", err)
			}
			if bytes.Contains([]byte(err.Error()), []byte("outside")) {
				t.Error("read outside data")
			}
		})
	}
	t.Run("OpenPhoto", func(t *testing.T) {
		j := &Job{ID: "job-1", Template: "t", Photo: "ok.jpg"}
		f, err := j.OpenPhoto(dir)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		j.Photo = "link.jpg"
		if _, err := j.OpenPhoto(dir); !errors.Is(err, ErrSymlink) {
			t.Errorf("OpenPhoto(link) = %v", err)
		}
	})
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "job.toml")
	writeFile(t, good, []byte(goodTOML))
	if j, err := Load(good); err != nil || j.ID != "CASE-2026-000123" {
		t.Fatalf("Load = %v, %v", j, err)
	}
	link := filepath.Join(dir, "link.toml")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(link); !errors.Is(err, ErrSymlink) {
		t.Errorf("Load(symlink) = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "none.toml")); !errors.Is(err, ErrMissing) {
		t.Errorf("Load(missing) = %v", err)
	}
	big := filepath.Join(dir, "big.toml")
	writeFile(t, big, bytes.Repeat([]byte("#"), MaxFileBytes+1))
	if _, err := Load(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Load(big) = %v", err)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	j, err := Parse("job.toml", []byte(goodTOML))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{FormatTOML, FormatJSON} {
		var buf bytes.Buffer
		if err := j.Encode(&buf, f); err != nil {
			t.Fatal(err)
		}
		back, err := Parse("job."+string(f), buf.Bytes())
		if err != nil {
			t.Fatalf("%s: %v\n%s", f, err, buf.Bytes())
		}
		if back.ID != j.ID || back.Fields["given_names"] != j.Fields["given_names"] || *back.Magnetic != *j.Magnetic {
			t.Errorf("%s round trip: %+v", f, back)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("job.toml", []byte(goodTOML))
	f.Add("job.json", []byte(goodJSON))
	f.Add("job", []byte(`{"id":"a","template":"t","fields":{"a":"b"}}`))
	f.Add("job.toml", []byte("id = \"a\"\ntemplate = \"t\"\nphoto = \"../x\"\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		j, err := Parse(name, data)
		if err != nil {
			var je *Error
			if !errors.As(err, &je) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			return
		}
		// Whatever parses must satisfy the rules again and survive an
		// encode/parse round trip.
		if err := j.Validate(); err != nil {
			t.Fatalf("parsed job fails Validate: %v", err)
		}
		if j.Photo != "" && (strings.ContainsAny(j.Photo, `/\`) || strings.Contains(j.Photo, "..")) {
			t.Fatalf("photo %q escapes", j.Photo)
		}
		for _, f := range []Format{FormatJSON, FormatTOML} {
			var buf bytes.Buffer
			if err := j.Encode(&buf, f); err != nil {
				t.Fatal(err)
			}
			back, err := Parse("x."+string(f), buf.Bytes())
			if err != nil {
				t.Fatalf("%s round trip: %v\n%s", f, err, buf.Bytes())
			}
			if back.ID != j.ID || len(back.Fields) != len(j.Fields) {
				t.Fatalf("%s round trip changed the job: %+v vs %+v", f, back, j)
			}
			for k, v := range j.Fields {
				if back.Fields[k] != v {
					t.Fatalf("%s round trip: field %s %q became %q", f, k, v, back.Fields[k])
				}
			}
		}
	})
}

func TestPermanentRequest(t *testing.T) {
	t.Parallel()
	j, err := Parse("job.toml", []byte("id = \"J1\"\ntemplate = \"temporary\"\npermanent = true\npermanent_template = \"permanent\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !j.Permanent || j.PermanentTemplate != "permanent" {
		t.Fatalf("parsed %+v", j)
	}
	for _, c := range []struct{ src, field string }{
		{"id = \"J1\"\ntemplate = \"t\"\npermanent_template = \"p\"\n", "permanent_template"},
		{"id = \"J1\"\ntemplate = \"t\"\npermanent = true\npermanent_template = \"p q\"\n", "permanent_template"},
		{"id = \"J1\"\ntemplate = \"t\"\npermanent = \"yes\"\n", ""},
	} {
		_, err := Parse("job.toml", []byte(c.src))
		var je *Error
		if !errors.As(err, &je) || je.Field != c.field {
			t.Errorf("%q: err = %v, want field %q", c.src, err, c.field)
		}
	}
}
