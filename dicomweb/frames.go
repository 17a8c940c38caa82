package dicomweb

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/pixels"
	"github.com/medimg/medimg/dicomweb/ts"
	"github.com/medimg/medimg/queries"
)

// maxFramesPerRequest bounds a frame list: enough for any viewer, small enough to refuse abuse.
const maxFramesPerRequest = 10000

// compressedMediaTypes maps encapsulated transfer syntaxes to the media type of their frames
// (PS3.18 Table 8.7.3-5).
var compressedMediaTypes = map[string]string{
	ts.JPEGBaseline8Bit:      "image/jpeg",
	ts.JPEGExtended12Bit:     "image/jpeg",
	ts.JPEGLossless:          "image/jpeg",
	ts.JPEGLosslessSV1:       "image/jpeg",
	ts.JPEGLSLossless:        "image/jls",
	ts.JPEGLSNearLossless:    "image/jls",
	ts.JPEG2000Lossless:      "image/jp2",
	ts.JPEG2000:              "image/jp2",
	ts.JPEG2000Part2Lossless: "image/jpx",
	ts.JPEG2000Part2:         "image/jpx",
	ts.HTJ2KLossless:         "image/jphc",
	ts.HTJ2KLosslessRPCL:     "image/jphc",
	ts.HTJ2K:                 "image/jphc",
	ts.RLELossless:           "image/dicom-rle",
}

// frameRep is the representation chosen for the frames of one response.
type frameRep struct {
	multipart      bool
	mediaType      string // of the body (single part) or of each part
	transferSyntax string // labelled on the Content-Type
	swap           bool   // native big endian sent as little endian
	decode         bool   // compressed frames decoded to native Explicit VR Little Endian
}

// decodable lists the compressed syntaxes whose frames the pixel pipeline decodes to native.
var decodable = map[string]bool{
	pixels.RLELossless: true, pixels.JPEGBaseline8Bit: true, pixels.JPEGLossless: true, pixels.JPEGLosslessSV1: true,
}

// retrieveFrames is the Frames resource (PS3.18 §10.4.1.1.4): one ranged read of the stored file
// per frame (per fragment for encapsulated data), from the frame index made at store time.
func (s *Service) retrieveFrames(c *gin.Context) error {
	sc, err := scopeFromPath(c)
	if err != nil {
		return err
	}
	numbers, err := parseFrameList(c.Param("frames"))
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	src, err := s.store.GetFrameSource(ctx, sc)
	if err != nil {
		return err
	}
	index, err := decodeFrameIndex(src.Frames)
	if err != nil {
		return err
	}
	for _, n := range numbers {
		if n > src.NumberOfFrames {
			return errorf(http.StatusNotFound, "not_found", "frame %d of %s: the instance has %d frames", n, sc, src.NumberOfFrames)
		}
	}
	if index.count() < src.NumberOfFrames {
		return errorf(http.StatusNotAcceptable, "not_acceptable",
			"the frames of %s cannot be read one by one: its transfer syntax %s is not addressable by frame", sc, src.TransferSyntaxUID)
	}
	rep, err := chooseFrameRep(c.GetHeader("Accept"), src.TransferSyntaxUID, len(numbers) == 1)
	if err != nil {
		return err
	}
	if rep.decode {
		return s.writeDecodedFrames(c, sc, numbers, rep)
	}
	return s.writeFrames(c, src, index, numbers, rep)
}

// parseFrameList reads "1", "1,3,5": 1-based frame numbers, duplicates allowed as PS3.18 allows.
func parseFrameList(s string) ([]int, error) {
	parts := strings.Split(s, ",")
	if len(parts) > maxFramesPerRequest {
		return nil, badRequest("frame list of %d frames: at most %d per request", len(parts), maxFramesPerRequest)
	}
	out := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return nil, badRequest("frame list %q: %q is not a frame number (frames are numbered from 1)", s, p)
		}
		out[i] = n
	}
	return out, nil
}

// chooseFrameRep picks the first acceptable representation of the frames of an instance stored
// in transfer syntax ts.
func chooseFrameRep(accept, ts string, single bool) (frameRep, error) {
	codec, compressed := compressedMediaTypes[ts]
	for _, w := range parseAccept(accept) {
		if !w.multipart && !single && w.mediaType != "*/*" {
			continue // a single-part type can carry one frame only
		}
		rep := frameRep{multipart: w.multipart || w.mediaType == "*/*"}
		want := w.mediaType
		if rep.multipart && !w.multipart {
			want = ""
		}
		switch {
		case compressed:
			// As stored, when the client takes any syntax, this one, or a codec type without naming
			// a syntax; octet-stream without a syntax means native Explicit VR Little Endian, which
			// needs a decoder.
			asStored := w.transferSyntax == "*" || w.transferSyntax == ts ||
				(w.transferSyntax == "" && want != "application/octet-stream")
			if !asStored {
				native := (want == "application/octet-stream" || want == "") && (w.transferSyntax == "" || w.transferSyntax == tsExplicitLE)
				if !native || !decodable[ts] {
					continue
				}
				rep.mediaType, rep.transferSyntax, rep.decode = "application/octet-stream", tsExplicitLE, true
				return rep, nil
			}
			switch {
			case want == "application/octet-stream":
				rep.mediaType = want
			case matchesType(want, codec):
				rep.mediaType = codec
			default:
				continue
			}
			rep.transferSyntax = ts
		default: // native
			if !matchesType(want, "application/octet-stream") {
				continue
			}
			rep.mediaType = "application/octet-stream"
			switch w.transferSyntax {
			case "*":
				rep.transferSyntax = nativeLabel(ts)
			case "", tsExplicitLE:
				rep.transferSyntax, rep.swap = tsExplicitLE, ts == tsExplicitBE
			case tsImplicitLE:
				rep.transferSyntax, rep.swap = tsImplicitLE, ts == tsExplicitBE
			case tsExplicitBE:
				if ts != tsExplicitBE {
					continue
				}
				rep.transferSyntax = tsExplicitBE
			default:
				continue
			}
		}
		return rep, nil
	}
	offers := "multipart/related; type=\"application/octet-stream\" (transfer-syntax " + nativeLabel(ts) + " or *)"
	if compressed {
		offers = fmt.Sprintf("multipart/related; type=%q or \"application/octet-stream\"; transfer-syntax=%s (or *)", codec, ts)
		if decodable[ts] {
			offers += ", or decoded as application/octet-stream; transfer-syntax=" + tsExplicitLE
		} else {
			offers += "; decoding " + ts + " to native is not available"
		}
	}
	return frameRep{}, notAcceptable(accept, offers)
}

// nativeLabel is the transfer syntax of native frames as stored: frames have no VRs, so implicit
// and explicit little endian frames are the same bytes, labelled Explicit VR Little Endian.
func nativeLabel(ts string) string {
	if ts == tsExplicitBE {
		return tsExplicitBE
	}
	return tsExplicitLE
}

func (s *Service) writeFrames(c *gin.Context, src queries.FrameSource, index *storedFrameIndex, numbers []int, rep frameRep) error {
	ctx := c.Request.Context()
	contentType := rep.mediaType + "; transfer-syntax=" + rep.transferSyntax
	if !rep.multipart {
		if ranges := index.frame(numbers[0]); len(ranges) == 1 && !rep.swap && !index.Inflated {
			// One range as stored: byte ranges of it can be asked (progressive decoding of HTJ2K).
			return s.serveRange(c, src.BlobKey, ranges[0], contentType)
		}
	}
	// The first range is opened before the status is sent, so that a stored file that cannot be
	// read is an error response (500), not a 200 with a cut body.
	first, err := s.openRange(ctx, src.BlobKey, index, index.frame(numbers[0])[0])
	if err != nil {
		return fmt.Errorf("dicomweb: frame %d: stored file %s: %w", numbers[0], src.BlobKey, err)
	}
	if !rep.multipart {
		c.Header("Content-Type", contentType)
		c.Status(http.StatusOK)
		err := s.copyFrame(ctx, c.Writer, src, index, numbers[0], rep.swap, first)
		s.logCut(c, "frame", err, "key", src.BlobKey)
		return nil
	}
	mw := startMultipart(c, rep.mediaType)
	for _, n := range numbers {
		part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {contentType}})
		if err != nil {
			if first != nil {
				first.Close()
			}
			s.logCut(c, "frames", err, "key", src.BlobKey, "frame", n)
			return nil
		}
		err = s.copyFrame(ctx, part, src, index, n, rep.swap, first)
		first = nil // copyFrame closed it
		if err != nil {
			s.logCut(c, "frames", err, "key", src.BlobKey, "frame", n)
			return nil
		}
	}
	s.logCut(c, "frames", mw.Close(), "key", src.BlobKey)
	return nil
}

// writeDecodedFrames sends compressed frames decoded to native little-endian pixels, one frame in
// memory at a time. The first frame is decoded before the status is sent, so that corrupt data is
// an error response rather than a cut body.
func (s *Service) writeDecodedFrames(c *gin.Context, sc queries.Scope, numbers []int, rep frameRep) error {
	ctx := c.Request.Context()
	rs, err := s.loadRenderSource(ctx, sc)
	if err != nil {
		return err
	}
	first, _, err := s.decodeFrame(ctx, rs, numbers[0], nil)
	if err != nil {
		return err
	}
	contentType := rep.mediaType + "; transfer-syntax=" + rep.transferSyntax
	if !rep.multipart {
		c.Data(http.StatusOK, contentType, first)
		return nil
	}
	mw := startMultipart(c, rep.mediaType)
	for i, n := range numbers {
		frame := first
		if i > 0 {
			if frame, _, err = s.decodeFrame(ctx, rs, n, nil); err != nil {
				s.log.ErrorContext(ctx, "frames: decode; response cut", "scope", sc.String(), "frame", n, "err", err)
				return nil
			}
		}
		part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {contentType}})
		if err == nil {
			_, err = part.Write(frame)
		}
		if err != nil {
			s.logCut(c, "frames", err, "scope", sc.String(), "frame", n)
			return nil
		}
	}
	s.logCut(c, "frames", mw.Close(), "scope", sc.String())
	return nil
}

// copyFrame writes frame n: its byte ranges read from the blob in order. opened, when not nil, is
// the first range already open (it is closed here).
func (s *Service) copyFrame(ctx context.Context, w io.Writer, src queries.FrameSource, index *storedFrameIndex, n int, swap bool, opened io.ReadCloser) error {
	for _, r := range index.frame(n) {
		rc, err := opened, error(nil)
		if opened == nil {
			rc, err = s.openRange(ctx, src.BlobKey, index, r)
		}
		opened = nil
		if err != nil {
			return fmt.Errorf("stored file %s: %w", src.BlobKey, err)
		}
		if swap {
			err = copySwapped(w, rc, src.BitsAllocated)
		} else {
			_, err = copyPooled(w, rc)
		}
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// copySwapped copies big-endian samples as little-endian ones (16- or 32-bit; 8-bit as is).
func copySwapped(w io.Writer, r io.Reader, bitsAllocated int) error {
	size := bitsAllocated / 8
	buf := make([]byte, 64<<10)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			chunk := buf[:n-n%max(size, 1)]
			for i := 0; size > 1 && i+size <= len(chunk); i += size {
				for a, b := i, i+size-1; a < b; a, b = a+1, b-1 {
					chunk[a], chunk[b] = chunk[b], chunk[a]
				}
			}
			if _, werr := w.Write(chunk); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
