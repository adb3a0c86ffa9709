//go:build !linux

package tokens

import "os"

// sysStamp is empty where the OS gives no inode or change time; size and
// mtime then tell file versions apart.
type sysStamp struct{}

func sysStampOf(os.FileInfo) sysStamp { return sysStamp{} }
