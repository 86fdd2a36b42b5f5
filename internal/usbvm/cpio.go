package usbvm

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// archive is the file tree of an initramfs, written as a gzip-compressed
// newc cpio archive. Entries are written in path order with zero times and
// owners, so the same inputs give the same bytes.
type archive struct {
	files map[string]entry
}

type entry struct {
	mode uint32 // including the file type bits
	data []byte // file contents or symlink target
}

const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
)

func newArchive() *archive { return &archive{files: map[string]entry{}} }

// addDirs adds every parent directory of p.
func (a *archive) addDirs(p string) {
	for d := path.Dir(p); d != "." && d != "/" && d != ""; d = path.Dir(d) {
		if _, ok := a.files[d]; ok {
			return
		}
		a.files[d] = entry{mode: modeDir | 0o755}
	}
}

// add puts a regular file at p (relative to the root, no leading slash).
func (a *archive) add(p string, perm uint32, data []byte) {
	p = strings.TrimPrefix(path.Clean(p), "/")
	a.addDirs(p)
	a.files[p] = entry{mode: modeFile | perm, data: data}
}

// symlink puts a symbolic link at p pointing to target.
func (a *archive) symlink(p, target string) {
	p = strings.TrimPrefix(path.Clean(p), "/")
	a.addDirs(p)
	a.files[p] = entry{mode: modeSymlink | 0o777, data: []byte(target)}
}

// dir adds an empty directory.
func (a *archive) dir(p string) {
	p = strings.TrimPrefix(path.Clean(p), "/")
	a.addDirs(p + "/x")
}

// writeCpio writes the archive in newc format.
func (a *archive) writeCpio(w io.Writer) error {
	names := make([]string, 0, len(a.files))
	for n := range a.files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	ino := uint32(1)
	put := func(name string, e entry) {
		fmt.Fprintf(&buf, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
			ino, e.mode, 0, 0, 1, 0, len(e.data), 0, 0, 0, 0, len(name)+1, 0)
		ino++
		buf.WriteString(name)
		buf.WriteByte(0)
		pad4(&buf)
		buf.Write(e.data)
		pad4(&buf)
	}
	for _, n := range names {
		put(n, a.files[n])
		if buf.Len() > 1<<20 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				return err
			}
			buf.Reset()
		}
	}
	put("TRAILER!!!", entry{})
	_, err := w.Write(buf.Bytes())
	return err
}

func pad4(b *bytes.Buffer) {
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
}

// gzipCpio returns the archive as gzip-compressed newc cpio.
func (a *archive) gzipCpio() ([]byte, error) {
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if err := a.writeCpio(zw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
