package pixels

import (
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
)

// Encode writes img as "image/jpeg" (quality 1–100, 0 meaning 90) or "image/png".
func Encode(w io.Writer, img image.Image, mediaType string, quality int) error {
	switch mediaType {
	case "image/jpeg":
		if quality == 0 {
			quality = 90
		}
		if quality < 1 || quality > 100 {
			return fmt.Errorf("%w: quality %d", ErrBadOptions, quality)
		}
		if g, ok := img.(*image.Gray); ok {
			return encodeGrayJPEG(w, g, quality)
		}
		return jpeg.Encode(w, img, &jpeg.Options{Quality: quality})
	case "image/png":
		// Speed over size: a rendered frame is made per request.
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		return enc.Encode(w, img)
	}
	return fmt.Errorf("%w: media type %q", ErrUnsupported, mediaType)
}
