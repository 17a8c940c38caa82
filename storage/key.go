package storage

import (
	"fmt"
	"strings"
)

// maxKeyLen is S3's limit on a key, and keeps a filesystem path well under PATH_MAX.
const maxKeyLen = 1024

// ValidKey reports whether key is safe: non-empty, at most 1024 bytes, '/'-separated segments made only of
// [A-Za-z0-9._-], no empty, "." or ".." segment, no leading '/'. Every implementation rejects other keys
// with an error wrapping ErrInvalidKey before touching the disk or the network.
func ValidKey(key string) bool {
	if key == "" || len(key) > maxKeyLen {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." || !keyChars(seg) {
			return false
		}
	}
	return true
}

// checkKey is ValidKey as an error, carrying the key so the log shows what was refused.
func checkKey(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	return nil
}

// prefixDir splits a List prefix into the directory part (the complete segments, "" for none) and
// reports whether some valid key could start with prefix. An implementation uses the directory part to
// avoid walking the whole store; the rest of the prefix is matched byte by byte.
func prefixDir(prefix string) (dir string, ok bool) {
	if len(prefix) > maxKeyLen {
		return "", false
	}
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return "", keyChars(prefix)
	}
	dir = prefix[:i]
	return dir, ValidKey(dir) && keyChars(prefix[i+1:])
}

// keyChars reports whether s is made only of the bytes allowed in a key segment.
func keyChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}
