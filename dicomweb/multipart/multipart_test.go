package multipart

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseContentType(t *testing.T) {
	tests := []struct {
		name, in string
		want     Related
		err      bool
	}{
		{"quoted_type_and_boundary", `multipart/related; type="application/dicom"; boundary="abc def"`, Related{"abc def", "application/dicom"}, false},
		{"unquoted", `multipart/related; type=application/dicom; boundary=xyz`, Related{"xyz", "application/dicom"}, false},
		{"boundary_first", `multipart/related; boundary=xyz; type="application/dicom"`, Related{"xyz", "application/dicom"}, false},
		{"no_type", `multipart/related; boundary=xyz`, Related{"xyz", ""}, false},
		{"upper_case", `Multipart/Related; Type="Application/DICOM"; Boundary=xyz`, Related{"xyz", "application/dicom"}, false},
		{"empty", ``, Related{}, true},
		{"not_multipart", `application/dicom`, Related{}, true},
		{"multipart_mixed", `multipart/mixed; boundary=x`, Related{}, true},
		{"no_boundary", `multipart/related; type="application/dicom"`, Related{}, true},
		{"garbage", `multipart/related; boundary="unterminated`, Related{}, true},
		{"orthanc_73_character_boundary", `multipart/related; type="application/dicom"; boundary=` + orthancBoundary,
			Related{orthancBoundary, "application/dicom"}, false},
		{"absurd_boundary", `multipart/related; boundary=` + strings.Repeat("b", 257), Related{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseContentType(tt.in)
			if tt.err {
				if !errors.Is(err, ErrMediaType) {
					t.Fatalf("err = %v, want ErrMediaType", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// orthancBoundary is the shape of the boundary Orthanc's DICOMweb client sends: two UUIDs, 73
// characters, over RFC 2046's 70.
const orthancBoundary = "4fd3b2f4-1c0e-4d8b-9a6e-2b5f0c7d8e91-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

func body(boundary string, parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\nContent-Type: application/dicom\r\n\r\n" + p + "\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.String()
}

func readAll(t *testing.T, r *Reader) ([]string, error) {
	t.Helper()
	var got []string
	for {
		p, err := r.Next()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return got, err
		}
		got = append(got, p.ContentType+":"+string(b))
	}
}

func TestReaderParts(t *testing.T) {
	bin := "\x00\r\n--notboundary\r\n=3D\xff"
	got, err := readAll(t, NewReader(strings.NewReader(body("B", "one", bin, "")), "B"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"application/dicom:one", "application/dicom:" + bin, "application/dicom:"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReaderTruncatedBodyIsMalformed(t *testing.T) {
	full := body("B", "first", strings.Repeat("x", 5000))
	for _, cut := range []int{len(full) - 3, len(full) - 10, len(full) / 2, 20} {
		got, err := readAll(t, NewReader(strings.NewReader(full[:cut]), "B"))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("cut at %d: parts %q, err = %v; want ErrMalformed", cut, got, err)
		}
	}
}

func TestReaderNoBoundaryIsMalformed(t *testing.T) {
	_, err := readAll(t, NewReader(strings.NewReader("just some bytes"), "B"))
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v, want ErrMalformed", err)
	}
}

var errLimit = errors.New("limit reached")

type limitReader struct{ r io.Reader }

func (l limitReader) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	if err == io.EOF {
		return n, errLimit
	}
	return n, err
}

func TestReaderKeepsTheBodysOwnError(t *testing.T) {
	full := body("B", strings.Repeat("x", 100000))
	_, err := readAll(t, NewReader(limitReader{strings.NewReader(full[:50000])}, "B"))
	if !errors.Is(err, errLimit) {
		t.Errorf("err = %v, want the body's own error", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(body("B", "one", "two")), "B")
	f.Add([]byte(body("B", "x")[:10]), "B")
	f.Add([]byte("--B\r\nContent-Type: a/b; x=\"\r\n\r\nz\r\n--B--"), "B")
	f.Fuzz(func(t *testing.T, data []byte, boundary string) {
		if boundary == "" || len(boundary) > maxBoundary {
			return
		}
		r := NewReader(bytes.NewReader(data), boundary)
		for range 1000 {
			p, err := r.Next()
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, p); err != nil {
				return
			}
		}
	})
}

func FuzzParseContentType(f *testing.F) {
	f.Add(`multipart/related; type="application/dicom"; boundary=x`)
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := ParseContentType(s); err == nil && r.Boundary == "" {
			t.Fatalf("accepted %q with no boundary", s)
		}
	})
}
