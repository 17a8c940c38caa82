package dicomweb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/medimg/medimg/dicomweb/ingest"
	"github.com/medimg/medimg/dicomweb/pixels"
	"github.com/medimg/medimg/queries"
)

// renderSource is what rendering one instance needs, all from the index: the file and its frame
// index, and, read only when a frame is decoded (a cached image needs neither), the pixel
// attributes from the stored metadata.
type renderSource struct {
	scope  queries.Scope
	src    queries.FrameSource
	index  *storedFrameIndex
	format *pixels.Format
}

func (s *Service) loadRenderSource(ctx context.Context, sc queries.Scope) (*renderSource, error) {
	src, err := s.store.GetFrameSource(ctx, sc)
	if err != nil {
		return nil, err
	}
	index, err := decodeFrameIndex(src.Frames)
	if err != nil {
		return nil, err
	}
	if index.count() < src.NumberOfFrames || src.NumberOfFrames == 0 {
		return nil, errorf(http.StatusNotAcceptable, "not_acceptable", "%s has no frames that can be read one by one (transfer syntax %s)", sc, src.TransferSyntaxUID)
	}
	return &renderSource{scope: sc, src: src, index: index}, nil
}

// pixelSyntax is the transfer syntax of the frame bytes: a deflated file's frames, once inflated,
// are Explicit VR Little Endian pixels.
func (rs *renderSource) pixelSyntax() string {
	if rs.index.Inflated {
		return tsExplicitLE
	}
	return rs.src.TransferSyntaxUID
}

// pixelFormat returns the pixel attributes, reading the stored metadata the first time (and the
// first time this process renders the file's content: parsing the metadata costs about as much
// as rendering a small frame).
func (s *Service) pixelFormat(ctx context.Context, rs *renderSource) (pixels.Format, error) {
	if rs.format != nil {
		return *rs.format, nil
	}
	key := rs.src.SHA256 + "|" + rs.pixelSyntax()
	if f, ok := s.formats.get(key); ok {
		rs.format = &f
		return f, nil
	}
	md, err := s.store.GetInstanceMetadata(ctx, rs.scope)
	if err != nil {
		return pixels.Format{}, err
	}
	f, err := pixelFormat(md, rs.pixelSyntax())
	if err != nil {
		return pixels.Format{}, errorf(http.StatusNotAcceptable, "not_acceptable", "%s cannot be rendered: %v", rs.scope, err)
	}
	s.formats.put(key, f)
	rs.format = &f
	return f, nil
}

// render reads frame n (1-based), decodes and renders it, and encodes it as mediaType. keep puts
// the image in the cache: for the single images viewers ask again and again (thumbnails, one
// frame), not for the images of a whole study, which would push those out.
func (s *Service) render(ctx context.Context, rs *renderSource, n int, opts pixels.RenderOptions, mediaType string, keep bool) ([]byte, error) {
	if n < 1 || n > rs.src.NumberOfFrames {
		return nil, errorf(http.StatusNotFound, "not_found", "frame %d: the instance has %d frames", n, rs.src.NumberOfFrames)
	}
	key := fmt.Sprintf("%s|%d|%s|%d|%d|%d", rs.src.SHA256, n, mediaType, opts.ViewportWidth, opts.ViewportHeight, opts.Quality)
	if w := opts.Window; w != nil {
		key += fmt.Sprintf("|%g|%g|%s", w.Center, w.Width, w.Function)
	}
	if b, ok := s.rendered.get(key); ok {
		s.metrics.renderCache.WithLabelValues("hit").Inc()
		return b, nil
	}
	s.metrics.renderCache.WithLabelValues("miss").Inc()
	var slot *renderSlot
	select {
	case slot = <-s.renderSlots:
		defer func() { s.renderSlots <- slot }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	native, f, err := s.decodeFrame(ctx, rs, n, slot)
	if err != nil {
		return nil, err
	}
	img, err := pixels.Render(native, f, opts)
	if err != nil {
		return nil, renderError(err, rs.src.TransferSyntaxUID)
	}
	var buf bytes.Buffer
	if err := pixels.Encode(&buf, img, mediaType, opts.Quality); err != nil {
		return nil, renderError(err, rs.src.TransferSyntaxUID)
	}
	if keep {
		s.rendered.put(key, buf.Bytes())
	}
	return buf.Bytes(), nil
}

// decodeFrame reads frame n (1-based) and decodes it to native little-endian pixels. With a slot,
// the frame is read into the slot's buffer, and the pixels (which may be that buffer) are valid
// only until the slot is given back; without one they are the caller's.
func (s *Service) decodeFrame(ctx context.Context, rs *renderSource, n int, slot *renderSlot) ([]byte, pixels.Format, error) {
	format, err := s.pixelFormat(ctx, rs)
	if err != nil {
		return nil, format, err
	}
	ranges := rs.index.frame(n)
	var total int64
	for _, r := range ranges {
		total += r.Length
	}
	buf := slot.buffer(int(total))
	fragments := make([][]byte, 0, len(ranges))
	for _, r := range ranges {
		b := buf[:r.Length:r.Length]
		buf = buf[r.Length:]
		if err := s.readRange(ctx, rs.src.BlobKey, rs.index, r, b); err != nil {
			return nil, format, err
		}
		fragments = append(fragments, b)
	}
	native, f, err := pixels.Decode(rs.pixelSyntax(), format, fragments)
	if err != nil {
		return nil, f, renderError(err, rs.src.TransferSyntaxUID)
	}
	return native, f, nil
}

// renderError maps the pixel pipeline's errors: options the client got wrong are 400, what we
// cannot decode is 406 naming the transfer syntax, anything else (corrupt data) is a 500 for the log.
func renderError(err error, ts string) error {
	switch {
	case errors.Is(err, pixels.ErrBadOptions):
		return badRequest("%v", err)
	case errors.Is(err, pixels.ErrUnsupported):
		return errorf(http.StatusNotAcceptable, "not_acceptable", "cannot render pixel data in transfer syntax %s: %v", ts, err)
	default:
		return fmt.Errorf("dicomweb: render: %w", err)
	}
}

// readRange reads the bytes of r into b, which is r.Length long.
func (s *Service) readRange(ctx context.Context, key string, index *storedFrameIndex, r ingest.Range, b []byte) error {
	rc, err := s.openRange(ctx, key, index, r)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.ReadFull(rc, b)
	return err
}

// pixelFormat reads the Image Pixel, Modality LUT and VOI LUT attributes from stored metadata.
func pixelFormat(metadata, transferSyntax string) (pixels.Format, error) {
	var md map[string]jsonAttribute
	if err := json.Unmarshal([]byte(metadata), &md); err != nil {
		return pixels.Format{}, err
	}
	fromFunctionalGroups(md)
	num := func(tag string, def float64) float64 {
		if v := md[tag].Value; len(v) > 0 {
			if f, err := strconv.ParseFloat(strings.Trim(string(v[0]), `"`), 64); err == nil {
				return f
			}
		}
		return def
	}
	nums := func(tag string) []float64 {
		var out []float64
		for _, v := range md[tag].Value {
			if f, err := strconv.ParseFloat(strings.Trim(string(v), `"`), 64); err == nil {
				out = append(out, f)
			}
		}
		return out
	}
	str := func(tag string) string {
		var s string
		if v := md[tag].Value; len(v) > 0 {
			_ = json.Unmarshal(v[0], &s) // not a string: treated as absent
		}
		return strings.TrimSpace(s)
	}
	if _, ok := md["7FE00010"]; !ok {
		return pixels.Format{}, errors.New("it has no pixel data")
	}
	bits := int(num("00280100", 0))
	f := pixels.Format{
		Rows:                int(num("00280010", 0)),
		Columns:             int(num("00280011", 0)),
		SamplesPerPixel:     int(num("00280002", 1)),
		BitsAllocated:       bits,
		BitsStored:          int(num("00280101", float64(bits))),
		HighBit:             int(num("00280102", float64(bits-1))),
		PixelRepresentation: int(num("00280103", 0)),
		PlanarConfiguration: int(num("00280006", 0)),
		Photometric:         str("00280004"),
		RescaleSlope:        num("00281053", 1),
		RescaleIntercept:    num("00281052", 0),
		WindowCenter:        nums("00281050"),
		WindowWidth:         nums("00281051"),
		VOILUTFunction:      str("00281056"),
		BigEndian:           transferSyntax == tsExplicitBE,
	}
	if f.Photometric == "" {
		f.Photometric = pixels.Monochrome2
	}
	return f, nil
}

// jsonAttribute is the part of a DICOM JSON attribute that rendering reads.
type jsonAttribute struct {
	Value []json.RawMessage `json:"Value"`
}

// functionalTags are the rescale and window attributes an enhanced multi-frame object keeps in its
// functional groups (Pixel Value Transformation and Frame VOI LUT, PS3.3 C.7.6.16) rather than at
// the top level.
var functionalTags = []string{"00281050", "00281051", "00281052", "00281053", "00281056"}

// fromFunctionalGroups copies functionalTags missing at the top level of md from the shared
// functional groups, else from the first frame's (later frames are rendered with the first
// frame's values).
func fromFunctionalGroups(md map[string]jsonAttribute) {
	for _, group := range []string{"52009229", "52009230"} { // Shared, Per-frame Functional Groups
		if len(md[group].Value) == 0 {
			continue
		}
		var item map[string]jsonAttribute
		if json.Unmarshal(md[group].Value[0], &item) != nil {
			continue
		}
		for _, macro := range item { // each macro is a sequence of one item
			if len(macro.Value) == 0 {
				continue
			}
			var inner map[string]jsonAttribute
			if json.Unmarshal(macro.Value[0], &inner) != nil {
				continue
			}
			for _, tag := range functionalTags {
				if _, ok := md[tag]; !ok && len(inner[tag].Value) > 0 {
					md[tag] = inner[tag]
				}
			}
		}
	}
}
