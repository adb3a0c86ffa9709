package filestamp

import (
	"io/fs"
	"syscall"
)

// sysStat returns the device, inode and change time of fi, which catch a
// file replaced by rename even when its size and mtime are unchanged.
func sysStat(fi fs.FileInfo) (dev, ino uint64, ctime int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), st.Ino, st.Ctim.Nano()
	}
	return 0, 0, 0
}
