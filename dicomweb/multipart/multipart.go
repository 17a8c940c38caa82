// Package multipart reads the multipart/related bodies of DICOMweb (PS3.18 §8.6.1.2) one part at a
// time, as a stream: a part is never held in memory, so a request of any size needs only the
// memory of the part being copied.
package multipart

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	stdmultipart "mime/multipart"
	"net/textproto"
	"strings"

	"github.com/medimg/medimg/dicomweb/clip"
	"github.com/medimg/medimg/dicomweb/mediatype"
)

// Errors wrapped by ParseContentType and Reader.
var (
	// ErrMediaType: the body is not multipart/related, or its type parameter is not the wanted one.
	ErrMediaType = errors.New("unsupported media type")
	// ErrMalformed: the body is not well-formed multipart (bad boundary, truncated, bad part headers).
	ErrMalformed = errors.New("malformed multipart body")
)

// maxBoundary bounds the boundary we accept (far above RFC 2046's 70, which real clients exceed).
const maxBoundary = 256

// Related is a parsed multipart/related Content-Type.
type Related struct {
	Boundary string
	// Type is the type parameter (the root part's media type), lower-cased; empty when absent.
	Type string
}

// ParseContentType parses a multipart/related Content-Type with its parameters quoted or not, in any
// order (RFC 2387, RFC 2045 §5.1).
func ParseContentType(contentType string) (Related, error) {
	if strings.TrimSpace(contentType) == "" {
		return Related{}, fmt.Errorf("%w: no Content-Type; want multipart/related; type=\"application/dicom\"; boundary=…", ErrMediaType)
	}
	mt, err := mediatype.Parse(contentType)
	if err != nil {
		return Related{}, fmt.Errorf("%w: Content-Type: %s", ErrMediaType, clip.String(err.Error()))
	}
	if mt.Type != "multipart/related" {
		return Related{}, fmt.Errorf("%w: %s; want multipart/related; type=\"application/dicom\"", ErrMediaType, clip.String(mt.Type))
	}
	b := mt.Params["boundary"]
	if b == "" {
		return Related{}, fmt.Errorf("%w: multipart/related without a boundary parameter", ErrMediaType)
	}
	// RFC 2046 §5.1.1 says at most 70 characters, but Orthanc's DICOMweb client sends 73
	// (<uuid>-<uuid>) and nothing is ambiguous about a longer one: accept any that fits a sane
	// header line.
	if len(b) > maxBoundary {
		return Related{}, fmt.Errorf("%w: boundary of %d characters; at most %d are accepted", ErrMediaType, len(b), maxBoundary)
	}
	return Related{Boundary: b, Type: strings.ToLower(mt.Params["type"])}, nil
}

// Reader iterates the parts of a multipart/related body.
type Reader struct {
	r    *stdmultipart.Reader
	body *errRecorder
}

// NewReader reads parts from body separated by boundary.
func NewReader(body io.Reader, boundary string) *Reader {
	rec := &errRecorder{r: body, closing: []byte("\r\n--" + boundary + "--")}
	return &Reader{r: stdmultipart.NewReader(rec, boundary), body: rec}
}

// errRecorder remembers an error of the underlying body (a size limit, a dropped connection), which
// the Reader returns as it is rather than as a malformed body.
//
// It also keeps the last bytes of the body: Go's reader reports io.EOF for a body cut off between
// parts, and only the close delimiter at the end tells a complete body from a truncated one.
// Keeping a tail costs a small copy per read, where searching every read for the delimiter cost a
// tenth of the CPU of storing large instances.
type errRecorder struct {
	r       io.Reader
	err     error
	closing []byte // CRLF "--" boundary "--"
	tail    []byte // the last tailSize bytes read
}

// tailSize bounds the epilogue allowed after the close delimiter (RFC 2046 permits one; DICOMweb
// clients send at most a line break).
const tailSize = 1024

func (e *errRecorder) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil && err != io.EOF {
		e.err = err
	}
	if n > 0 {
		chunk := b[:n]
		if len(chunk) >= tailSize {
			e.tail = append(e.tail[:0], chunk[len(chunk)-tailSize:]...)
		} else {
			if drop := len(e.tail) + len(chunk) - tailSize; drop > 0 {
				e.tail = e.tail[:copy(e.tail, e.tail[drop:])]
			}
			e.tail = append(e.tail, chunk...)
		}
	}
	return n, err
}

// closed reports whether the body read so far ends with the close delimiter and an epilogue.
func (e *errRecorder) closed() bool {
	return bytes.Contains(e.tail, e.closing) || bytes.HasPrefix(e.tail, e.closing[2:])
}

// Part is one body part: its headers and a stream of its content.
type Part struct {
	// ContentType is the part's media type without parameters, lower-cased; empty when the part has
	// no Content-Type header.
	ContentType string
	// Params are the Content-Type parameters (e.g. transfer-syntax).
	Params map[string]string
	Header textproto.MIMEHeader
	body   io.Reader
	rec    *errRecorder
}

// Read reads the part's content. A body that ends before the part's closing boundary is an error
// wrapping ErrMalformed, so a truncated part is never mistaken for a whole one.
func (p *Part) Read(b []byte) (int, error) {
	n, err := p.body.Read(b)
	if err != nil && err != io.EOF {
		return n, p.rec.malformed(err)
	}
	return n, err
}

// Next returns the next part, or io.EOF after the last one.
func (r *Reader) Next() (*Part, error) {
	// NextRawPart: DICOM parts are binary; never apply quoted-printable decoding.
	p, err := r.r.NextRawPart()
	if err == io.EOF {
		if !r.body.closed() {
			return nil, r.body.malformed(io.ErrUnexpectedEOF)
		}
		return nil, io.EOF
	}
	if err != nil {
		return nil, r.body.malformed(err)
	}
	part := &Part{Header: p.Header, body: p, rec: r.body}
	if ct := p.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, fmt.Errorf("%w: part Content-Type %q: %s", ErrMalformed, clip.String(ct), clip.String(err.Error()))
		}
		part.ContentType, part.Params = mt, params
	}
	return part, nil
}

// malformed classifies a parse error: the body's own error as it is, anything else as ErrMalformed.
func (e *errRecorder) malformed(err error) error {
	if e.err != nil {
		return e.err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: the body ends before the closing boundary", ErrMalformed)
	}
	// The reader's errors quote the input (a malformed header line, whole).
	return fmt.Errorf("%w: %s", ErrMalformed, clip.String(err.Error()))
}
