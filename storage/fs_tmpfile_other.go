//go:build !linux

package storage

import (
	"errors"
	"os"
)

// canLinkTmpfile is false: O_TMPFILE is Linux's; elsewhere small uploads are written as named temp files.
func canLinkTmpfile(string) bool { return false }

func openTmpfile(string) (*os.File, error) { return nil, errors.ErrUnsupported }

func linkTmpfile(*os.File, string) error { return errors.ErrUnsupported }
