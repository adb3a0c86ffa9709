package record

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"time"
)

// Warning is the startup notice for --record.
const Warning = "session recordings capture everything clients send, keystrokes and passwords included"

// ErrExists is returned by Open when the recording file is already there.
var ErrExists = errors.New("record: file already exists")

// Recorder writes one session's recording. Its methods are safe for
// concurrent use, so the two relay directions may share it.
type Recorder struct {
	name  string
	start time.Time
	now   func() time.Time

	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	err    error // first write error
	closed bool

	onError func(error) // reports the first failure, once
}

// Options tune a Recorder. The zero value is valid.
type Options struct {
	// OnError, if set, is called once, with the file named, when the
	// recording first fails after it was opened: a write (a full disk)
	// midway, or the final flush and close. The session goes on; the
	// recording stops there (no trailer), and the audit trail has a gap
	// that must not be silent.
	OnError func(error)
}

// Open creates base.<id> and writes the header. It fails with ErrExists
// (wrapped) if the file exists.
//
// The header is written through at once, so that a file that cannot be
// written (a full disk) fails here, before the session starts, rather
// than leaving a 0-byte "recording".
func Open(base string, id uint64, o Options) (*Recorder, error) {
	return open(base, id, time.Now, o)
}

func open(base string, id uint64, now func() time.Time, o Options) (*Recorder, error) {
	name := base + "." + strconv.FormatUint(id, 10)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: %s", ErrExists, name)
	}
	if err != nil {
		return nil, fmt.Errorf("open record file: %w", err)
	}
	r := &Recorder{name: name, start: now(), now: now, f: f, w: bufio.NewWriterSize(f, 32<<10), onError: o.OnError}
	r.w.WriteString("var VNC_frame_data = [\n")
	if err := r.w.Flush(); err != nil {
		f.Close()
		os.Remove(name) // an empty file of ours: no recording to keep
		return nil, fmt.Errorf("write record file %s: %w", name, err)
	}
	return r, nil
}

// fail keeps the first error and reports it; r.mu is held.
func (r *Recorder) fail(err error) {
	if r.err != nil {
		return
	}
	r.err = err
	if r.onError != nil {
		r.onError(fmt.Errorf("write record file %s: %w", r.name, err))
	}
}

// Name is the file's path.
func (r *Recorder) Name() string { return r.name }

// ClientData records p, received from the client.
func (r *Recorder) ClientData(p []byte) { r.frame('}', p) }

// TargetData records p, sent to the client from the target.
func (r *Recorder) TargetData(p []byte) { r.frame('{', p) }

func (r *Recorder) frame(dir byte, p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.err != nil {
		return
	}
	ms := r.now().Sub(r.start).Milliseconds()
	b := make([]byte, 0, len(p)+24)
	b = append(b, '\'', dir)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, dir)
	b = Escape(b, p)
	b = append(b, "',\n"...)
	if _, err := r.w.Write(b); err != nil {
		r.fail(err)
	}
}

// Close ends the array and closes the file. It returns the first error
// met while recording, if any. Later calls do nothing.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.err == nil {
		r.w.WriteString("'EOF'];\n")
		if err := r.w.Flush(); err != nil {
			r.fail(err)
		}
	}
	if err := r.f.Close(); err != nil {
		r.fail(err)
	}
	if r.err != nil {
		return fmt.Errorf("write record file %s: %w", r.name, r.err)
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// Escape appends p to b escaped as the reference does: Python's
// unicode_escape of the bytes read as latin-1, then ' as \'.
func Escape(b, p []byte) []byte {
	for _, c := range p {
		switch {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\'':
			b = append(b, '\\', '\'')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20 || c >= 0x7f:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return b
}
