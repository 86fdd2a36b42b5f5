package usbredir

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/printer"
)

// fakeBrain records what it is written and answers reads from replies.
type fakeBrain struct {
	mu      sync.Mutex
	got     bytes.Buffer
	replies chan []byte
	failOn  string // a Write containing this fails with ErrNoDevice, once
}

func newFakeBrain() *fakeBrain { return &fakeBrain{replies: make(chan []byte, 16)} }

func (b *fakeBrain) Write(ctx context.Context, p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failOn != "" && bytes.Contains(p, []byte(b.failOn)) {
		b.failOn = ""
		return 0, printer.ErrNoDevice
	}
	b.got.Write(p)
	return len(p), nil
}

func (b *fakeBrain) Read(ctx context.Context, p []byte) (int, error) {
	select {
	case r := <-b.replies:
		return copy(p, r), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (b *fakeBrain) received() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got.String()
}

// fakeQEMU plays QEMU's side of the protocol over one end of a socketpair.
type fakeQEMU struct {
	t      *testing.T
	conn   net.Conn
	long   bool
	nextID uint64
}

func socketpair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	return conns[0], conns[1]
}

func (q *fakeQEMU) send(typ uint32, body ...[]byte) uint64 {
	q.t.Helper()
	q.nextID++
	if _, err := q.conn.Write(AppendPacket(nil, q.long, typ, q.nextID, body...)); err != nil {
		q.t.Fatalf("fake QEMU send: %v", err)
	}
	return q.nextID
}

func (q *fakeQEMU) recv() Packet {
	q.t.Helper()
	// The deadline only ends a hung test; a slow machine just waits.
	start := time.Now()
	q.conn.SetReadDeadline(start.Add(testwait.Limit()))
	p, err := ReadPacket(q.conn, q.long)
	if err != nil {
		q.t.Fatalf("fake QEMU recv (after %v): %v", time.Since(start).Round(time.Millisecond), err)
	}
	return p
}

func (q *fakeQEMU) expect(typ uint32) Packet {
	q.t.Helper()
	p := q.recv()
	if p.Type != typ {
		q.t.Fatalf("got packet type %d (%d bytes), want %d", p.Type, p.Length, typ)
	}
	return p
}

// quiet asserts nothing arrives for a moment (a check that something does
// not happen; a slow machine cannot make it fail).
func (q *fakeQEMU) quiet() {
	q.t.Helper()
	q.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	p, err := ReadPacket(q.conn, q.long)
	if err == nil {
		q.t.Fatalf("unexpected packet type %d id %d", p.Type, p.ID)
	}
}

func (q *fakeQEMU) control(reqType, req uint8, value, index, length uint16) (ControlHeader, []byte) {
	q.t.Helper()
	id := q.send(TypeControlPacket, ControlHeader{Endpoint: 0x80, RequestType: reqType, Request: req, Value: value, Index: index, Length: length}.Marshal())
	p := q.expect(TypeControlPacket)
	if p.ID != id {
		q.t.Fatalf("control reply id %d, want %d", p.ID, id)
	}
	h, data, err := ParseControl(p.Body)
	if err != nil {
		q.t.Fatal(err)
	}
	return h, data
}

// start runs a device and completes the hello exchange and the connect
// sequence, returning the fake QEMU.
func start(t *testing.T, cfg Config) (*Device, *fakeQEMU, context.CancelFunc, chan error) {
	t.Helper()
	a, b := socketpair(t)
	d := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, a) }()
	t.Cleanup(func() { cancel(); b.Close(); <-done })
	q := &fakeQEMU{t: t, conn: b}
	h := q.expect(TypeHello)
	hello, err := ParseHello(h.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []int{Cap64BitIDs, Cap32BitsBulkLength, CapEPInfoMaxPacketSize} {
		if !hello.Has(c) {
			t.Fatalf("device does not announce capability %d (xHCI needs it)", c)
		}
	}
	caps := uint32(1<<Cap64BitIDs | 1<<Cap32BitsBulkLength | 1<<CapEPInfoMaxPacketSize | 1<<CapConnectDeviceVersion | 1<<CapDeviceDisconnectAck)
	q.send(TypeHello, Hello{Version: "fake qemu", Caps: caps}.Marshal())
	q.long = true
	q.expectConnect(cfg.Identity)
	return d, q, cancel, done
}

func (q *fakeQEMU) expectConnect(id Identity) {
	q.t.Helper()
	ii, err := ParseInterfaceInfo(q.expect(TypeInterfaceInfo).Body)
	if err != nil || ii.Count != 1 || ii.Class[0] != 7 {
		q.t.Fatalf("interface info %+v %v", ii, err)
	}
	ep, err := ParseEPInfo(q.expect(TypeEPInfo).Body, true)
	if err != nil || ep.Type[EPIndex(id.InEP)] != EPTypeBulk || ep.Type[EPIndex(id.OutEP)] != EPTypeBulk || ep.MaxPacketSize[EPIndex(id.InEP)] != 512 {
		q.t.Fatalf("ep info %+v %v", ep, err)
	}
	dc, err := ParseDeviceConnect(q.expect(TypeDeviceConnect).Body)
	if err != nil || dc.VendorID != id.VID || dc.ProductID != id.PID || dc.Speed != SpeedHigh {
		q.t.Fatalf("device connect %+v %v", dc, err)
	}
}

func TestDeviceEnumeration(t *testing.T) {
	t.Parallel()
	id := EvolisPrimacy("PRI0001")
	_, q, _, _ := start(t, Config{Identity: id, Brain: newFakeBrain()})

	q.send(TypeReset) // SeaBIOS, then Linux, reset the device
	q.send(TypeReset)
	h, data := q.control(0x80, 6, 0x0100, 0, 64)
	if h.Status != StatusSuccess || len(data) != 18 || data[1] != 1 ||
		binary.LittleEndian.Uint16(data[8:]) != 0x0F49 || binary.LittleEndian.Uint16(data[10:]) != 0x0A00 || h.Length != 18 {
		t.Fatalf("device descriptor: %+v % x", h, data)
	}
	_, data = q.control(0x80, 6, 0x0200, 0, 9)
	if len(data) != 9 || binary.LittleEndian.Uint16(data[2:]) != 32 {
		t.Fatalf("config descriptor header: % x", data)
	}
	_, data = q.control(0x80, 6, 0x0200, 0, 255)
	if len(data) != 32 || data[9+5] != 7 || data[18+2] != 0x81 || data[25+2] != 0x02 {
		t.Fatalf("config descriptor: % x", data)
	}
	_, data = q.control(0x80, 6, 0x0303, 0x0409, 255)
	if want := "P\x00R\x00I\x000\x000\x000\x001\x00"; string(data[2:]) != want || data[0] != 16 || data[1] != 3 {
		t.Fatalf("serial string descriptor: % x", data)
	}
	h, _ = q.control(0x80, 6, 0x0309, 0x0409, 255)
	if h.Status != StatusStall {
		t.Fatalf("missing string: status %d, want stall", h.Status)
	}
	h, data = q.control(0xA1, 0, 0, 0, 1024)
	if h.Status != StatusSuccess || int(binary.BigEndian.Uint16(data)) != len(data) || string(data[2:]) != id.DeviceID {
		t.Fatalf("GET_DEVICE_ID: %+v %q", h, data)
	}
	_, data = q.control(0xA1, 1, 0, 0, 1)
	if len(data) != 1 || data[0] != 0x18 {
		t.Fatalf("GET_PORT_STATUS: % x", data)
	}
	h, _ = q.control(0xC0, 0x42, 0, 0, 4)
	if h.Status != StatusStall {
		t.Fatalf("unknown vendor request: status %d, want stall", h.Status)
	}

	sid := q.send(TypeSetConfiguration, []byte{1})
	q.expect(TypeInterfaceInfo)
	q.expect(TypeEPInfo)
	p := q.expect(TypeConfigurationStatus)
	if p.ID != sid || !bytes.Equal(p.Body, []byte{StatusSuccess, 1}) {
		t.Fatalf("configuration status: %+v", p)
	}
	gid := q.send(TypeGetConfiguration)
	if p := q.expect(TypeConfigurationStatus); p.ID != gid || p.Body[1] != 1 {
		t.Fatalf("get configuration: %+v", p)
	}
	aid := q.send(TypeSetAltSetting, []byte{0, 0})
	if p := q.expect(TypeAltSettingStatus); p.ID != aid || !bytes.Equal(p.Body, []byte{StatusSuccess, 0, 0}) {
		t.Fatalf("alt setting status: %+v", p)
	}
}

func TestDeviceBulk(t *testing.T) {
	t.Parallel()
	brain := newFakeBrain()
	id := MagicardRioPro("MC42")
	d, q, _, _ := start(t, Config{Identity: id, Brain: brain})
	q.send(TypeSetConfiguration, []byte{1})
	q.expect(TypeInterfaceInfo)
	q.expect(TypeEPInfo)
	q.expect(TypeConfigurationStatus)

	// Bulk OUT: a stream split over packets arrives whole and in order.
	big := bytes.Repeat([]byte("card"), 70000) // 280,000 bytes: needs the 32-bit length
	msgs := [][]byte{[]byte("\x1bRtp\r"), big[:100000], big[100000:]}
	for _, m := range msgs {
		oid := q.send(TypeBulkPacket, BulkHeader{Endpoint: id.OutEP, Length: uint32(len(m))}.Marshal(true), m)
		p := q.expect(TypeBulkPacket)
		h, _, err := ParseBulk(p.Body, true)
		if err != nil || p.ID != oid || h.Status != StatusSuccess || h.Length != uint32(len(m)) {
			t.Fatalf("bulk OUT reply %+v %+v %v", p.Header, h, err)
		}
	}
	if got := brain.received(); got != "\x1bRtp\r"+string(big) {
		t.Fatalf("brain received %d bytes, want %d", len(got), 5+len(big))
	}

	// Bulk IN waits for the brain, then returns at most the asked length.
	in1 := q.send(TypeBulkPacket, BulkHeader{Endpoint: id.InEP, Length: 4}.Marshal(true))
	q.quiet()
	brain.replies <- []byte("Rio Pro\r")
	p := q.expect(TypeBulkPacket)
	h, data, _ := ParseBulk(p.Body, true)
	if p.ID != in1 || h.Status != StatusSuccess || string(data) != "Rio " || h.Length != 4 {
		t.Fatalf("bulk IN: id %d %+v %q", p.ID, h, data)
	}
	in2 := q.send(TypeBulkPacket, BulkHeader{Endpoint: id.InEP, Length: 512}.Marshal(true))
	p = q.expect(TypeBulkPacket)
	if _, data, _ := ParseBulk(p.Body, true); p.ID != in2 || string(data) != "Pro\r" {
		t.Fatalf("bulk IN rest: id %d %q", p.ID, data)
	}

	// An idle read is cancelled (libusb timeout) and answered as cancelled;
	// the next reply goes to the next request, not the cancelled one.
	in3 := q.send(TypeBulkPacket, BulkHeader{Endpoint: id.InEP, Length: 512}.Marshal(true))
	q.quiet()
	q.nextID++
	q.conn.Write(AppendPacket(nil, true, TypeCancelDataPacket, in3))
	p = q.expect(TypeBulkPacket)
	if h, _, _ := ParseBulk(p.Body, true); p.ID != in3 || h.Status != StatusCancelled {
		t.Fatalf("cancel reply: id %d %+v", p.ID, h)
	}
	in4 := q.send(TypeBulkPacket, BulkHeader{Endpoint: id.InEP, Length: 512}.Marshal(true))
	brain.replies <- []byte("OK\r")
	p = q.expect(TypeBulkPacket)
	if _, data, _ := ParseBulk(p.Body, true); p.ID != in4 || string(data) != "OK\r" {
		t.Fatalf("bulk IN after cancel: id %d %q", p.ID, data)
	}

	// Unknown endpoint stalls.
	sid := q.send(TypeBulkPacket, BulkHeader{Endpoint: 0x05, Length: 1}.Marshal(true), []byte{0})
	if p := q.expect(TypeBulkPacket); p.ID != sid || p.Body[1] != StatusStall {
		t.Fatalf("unknown endpoint: %+v % x", p.Header, p.Body)
	}
	st := d.Stats()
	if st.OutBytes != int64(5+len(big)) || st.InBytes != 11 || st.Cancels != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestDeviceUnplugReplug(t *testing.T) {
	t.Parallel()
	brain := newFakeBrain()
	id := EvolisPrimacy("PRI0002")
	unplugs := make(chan struct{}, 4)
	var replugs atomic.Int32
	fire := make(chan time.Time)
	d, q, _, _ := start(t, Config{Identity: id, Brain: brain, UnplugAfterOut: 1000, ReplugAfter: time.Second,
		OnUnplug: func() { unplugs <- struct{}{} },
		OnReplug: func() { replugs.Add(1) },
		After:    func(time.Duration) <-chan time.Time { return fire }})

	// The 1001st byte pulls the cable: the transfer is never answered, the
	// brain has the first 1000 bytes.
	q.send(TypeBulkPacket, BulkHeader{Endpoint: id.OutEP, Length: 600}.Marshal(true), make([]byte, 600))
	q.expect(TypeBulkPacket)
	q.send(TypeBulkPacket, BulkHeader{Endpoint: id.OutEP, Length: 600}.Marshal(true), bytes.Repeat([]byte{1}, 600))
	q.expect(TypeDeviceDisconnect)
	<-unplugs
	if n := len(brain.received()); n != 1000 {
		t.Fatalf("brain got %d bytes before the unplug, want 1000", n)
	}
	q.send(TypeDeviceDisconnectAck)
	// While away, transfers are not answered.
	q.send(TypeBulkPacket, BulkHeader{Endpoint: id.InEP, Length: 512}.Marshal(true))
	q.quiet()
	fire <- time.Now() // ReplugAfter elapses
	q.expectConnect(id)
	h, data := q.control(0x80, 6, 0x0100, 0, 18)
	if h.Status != StatusSuccess || len(data) != 18 {
		t.Fatalf("descriptor after replug: %+v", h)
	}
	// It does not unplug a second time.
	q.send(TypeBulkPacket, BulkHeader{Endpoint: id.OutEP, Length: 2000}.Marshal(true), make([]byte, 2000))
	q.expect(TypeBulkPacket)

	// The brain can pull the cable too (emulator disconnect fault).
	brain.mu.Lock()
	brain.failOn = "BOOM"
	brain.mu.Unlock()
	q.send(TypeBulkPacket, BulkHeader{Endpoint: id.OutEP, Length: 4}.Marshal(true), []byte("BOOM"))
	q.expect(TypeDeviceDisconnect)
	fire <- time.Now()
	q.expectConnect(id)

	// Explicit unplug and replug.
	d.Unplug()
	q.expect(TypeDeviceDisconnect)
	if err := d.Replug(); err != nil {
		t.Fatal(err)
	}
	q.expectConnect(id)
	if st := d.Stats(); st.Disconnects != 3 || st.Connects != 4 {
		t.Errorf("stats %+v, want 3 disconnects and 4 connects", st)
	}
	if n := replugs.Load(); n != 3 {
		t.Errorf("OnReplug ran %d times, want 3", n)
	}
	if err := d.Replug(); err != nil || replugs.Load() != 3 {
		t.Errorf("Replug of a plugged device: err %v, OnReplug ran %d times (want no call)", err, replugs.Load())
	}
}

func TestListenAndServe(t *testing.T) {
	t.Parallel()
	sock := t.TempDir() + "/p.sock"
	d := New(Config{Identity: EvolisPrimacy("S"), Brain: newFakeBrain()})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- d.ListenAndServe(ctx, sock, ready) }()
	<-ready
	for i := 0; i < 2; i++ { // QEMU may connect again after a session ends
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		q := &fakeQEMU{t: t, conn: c}
		q.expect(TypeHello)
		q.send(TypeHello, Hello{Version: "fake", Caps: 1<<Cap64BitIDs | 1<<Cap32BitsBulkLength | 1<<CapEPInfoMaxPacketSize}.Marshal())
		q.long = true
		if ep := q.expect(TypeInterfaceInfo); ep.Length != 132 {
			t.Fatalf("interface info length %d", ep.Length)
		}
		if ep := q.expect(TypeEPInfo); ep.Length != 160 {
			t.Fatalf("ep info length %d, want 160 (types, intervals, interfaces, max packet sizes)", ep.Length)
		}
		if dc := q.expect(TypeDeviceConnect); dc.Length != 8 {
			t.Fatalf("device connect length %d, want 8 without connect_device_version", dc.Length)
		}
		c.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}
