//go:build unix

package csvsource

import (
	"os"
	"syscall"
)

// inode returns the device and inode numbers of the file: a file replaced
// by a rename has a new inode even when its size and time match.
func inode(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino) //nolint:unconvert // int32 on some platforms
	}
	return 0, 0
}
