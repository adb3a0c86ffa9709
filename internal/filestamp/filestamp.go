// Package filestamp tells versions of a file apart without reading it, for
// the files websockify reloads when they change (the TLS certificate, token
// files, JWT keys).
package filestamp

import (
	"io/fs"
	"time"
)

// Stamp identifies one version of a file; stamps compare with ==. Size and
// mtime are there everywhere; where the OS has them, the device and inode
// catch a file replaced by rename, and the change time any write, even one
// that restores the size and mtime.
type Stamp struct {
	Size     int64
	MTime    int64 // nanoseconds since the epoch
	Dev, Ino uint64
	CTime    int64 // nanoseconds since the epoch
}

// Of returns the stamp of fi.
func Of(fi fs.FileInfo) Stamp {
	s := Stamp{Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	s.Dev, s.Ino, s.CTime = sysStat(fi)
	return s
}

// Modified returns the stamp's modification time.
func (s Stamp) Modified() time.Time { return time.Unix(0, s.MTime) }
