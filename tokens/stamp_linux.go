//go:build linux

package tokens

import (
	"os"
	"syscall"
)

// sysStamp is what the file system adds to size and mtime to tell file
// versions apart: the inode (a file replaced by rename) and the change
// time (any write, even one that restores the mtime).
type sysStamp struct {
	ino   uint64
	ctime int64
}

func sysStampOf(fi os.FileInfo) sysStamp {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return sysStamp{}
	}
	return sysStamp{ino: uint64(st.Ino), ctime: int64(st.Ctim.Sec)*1e9 + int64(st.Ctim.Nsec)}
}
