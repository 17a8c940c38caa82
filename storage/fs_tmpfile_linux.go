package storage

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// openTmpfile makes an unnamed file on dir's filesystem (O_TMPFILE): no directory entry to create
// now and remove later, and it vanishes by itself if the process dies before linkTmpfile.
func openTmpfile(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o640)
	if err != nil {
		return nil, &os.PathError{Op: "open O_TMPFILE", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir+"/(tmpfile)"), nil
}

// linkTmpfile gives the unnamed file f the name dst, which must not exist (EEXIST otherwise).
// Linking through /proc needs no privilege, unlike AT_EMPTY_PATH.
func linkTmpfile(f *os.File, dst string) error {
	proc := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if err := unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "linkat", Old: proc, New: dst, Err: err}
	}
	return nil
}

// canLinkTmpfile reports whether unnamed files can be made in dir and linked into it.
func canLinkTmpfile(dir string) bool {
	f, err := openTmpfile(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	// A name of its own, so that two servers starting on one root do not share it; one left by a
	// crash is swept with the other leftovers of uploads.
	probe := filepath.Join(dir, "probe-"+rand.Text())
	if linkTmpfile(f, probe) != nil {
		return false
	}
	return os.Remove(probe) == nil
}
