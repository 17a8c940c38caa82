package dicomweb

import (
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/pixels"
	"github.com/medimg/medimg/queries"
)

// thumbnailSize bounds a thumbnail when the request gives no viewport.
const thumbnailSize = 128

// retrieveRendered is the Rendered resources (PS3.18 §10.4.1.1.3): consumer-ready images of a
// study, a series, an instance (every frame) or a list of frames. One image is a single-part
// body; several are multipart/related, one image per part.
func (s *Service) retrieveRendered(c *gin.Context) error {
	return s.serveImages(c, false)
}

// retrieveThumbnail is the Thumbnail resources (PS3.18 §10.4.1.1.6): one small image that stands
// for a study (the middle instance of its first series), a series (its middle instance), an
// instance (its first frame) or a frame.
func (s *Service) retrieveThumbnail(c *gin.Context) error {
	return s.serveImages(c, true)
}

func (s *Service) serveImages(c *gin.Context, thumbnail bool) error {
	sc, err := scopeFromPath(c)
	if err != nil {
		return err
	}
	var frames []int
	if c.Param("frames") != "" {
		if frames, err = parseFrameList(c.Param("frames")); err != nil {
			return err
		}
	}
	mediaType, err := chooseImageType(c.GetHeader("Accept"))
	if err != nil {
		return err
	}
	opts, err := renderOptions(c.Request.URL.Query(), thumbnail)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	type image struct {
		scope queries.Scope
		frame int // 0: every frame of the instance (rendered) or the first (thumbnail)
	}
	var images []image
	if sc.SOPInstanceUID != "" {
		if len(frames) == 0 {
			frames = []int{0}
		}
		if thumbnail {
			frames = frames[:1]
		}
		for _, n := range frames {
			images = append(images, image{sc, n})
		}
	} else {
		insts, err := s.store.RetrieveInstances(ctx, sc)
		if err != nil {
			return err
		}
		if thumbnail {
			insts = representative(insts)
		}
		for _, in := range insts {
			images = append(images, image{queries.Scope{StudyUID: sc.StudyUID, SeriesUID: in.SeriesInstanceUID, SOPInstanceUID: in.SOPInstanceUID}, 1})
		}
	}
	var out [][]byte
	for _, im := range images {
		rs, err := s.loadRenderSource(ctx, im.scope)
		if err != nil {
			return err
		}
		numbers := []int{im.frame}
		if im.frame == 0 {
			numbers = []int{1}
			if !thumbnail {
				numbers = make([]int, rs.src.NumberOfFrames)
				for i := range numbers {
					numbers[i] = i + 1
				}
			}
		}
		for _, n := range numbers {
			b, err := s.render(ctx, rs, n, opts, mediaType)
			if err != nil {
				return err
			}
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return errorf(http.StatusNotFound, "not_found", "%s has nothing to render", sc)
	}
	c.Header("Cross-Origin-Resource-Policy", "cross-origin")
	if len(out) == 1 {
		c.Data(http.StatusOK, mediaType, out[0])
		return nil
	}
	mw := startMultipart(c, mediaType)
	for _, b := range out {
		part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {mediaType}})
		if err != nil {
			return nil
		}
		part.Write(b)
	}
	mw.Close()
	return nil
}

// representative picks the middle instance of the first series.
func representative(insts []queries.StoredInstance) []queries.StoredInstance {
	if len(insts) == 0 {
		return nil
	}
	first := insts[0].SeriesInstanceUID
	n := 0
	for n < len(insts) && insts[n].SeriesInstanceUID == first {
		n++
	}
	return insts[n/2 : n/2+1]
}

// chooseImageType picks image/jpeg (the default) or image/png from Accept.
func chooseImageType(accept string) (string, error) {
	for _, w := range parseAccept(accept) {
		for _, t := range []string{"image/jpeg", "image/png"} {
			if matchesType(w.mediaType, t) {
				return t, nil
			}
		}
	}
	return "", notAcceptable(accept, "image/jpeg or image/png")
}

// renderOptions reads window, viewport and quality (PS3.18 §8.3.5.1).
func renderOptions(q map[string][]string, thumbnail bool) (pixels.RenderOptions, error) {
	var opts pixels.RenderOptions
	get := func(name string) string {
		if v := q[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if v := get("window"); v != "" {
		parts := strings.Split(v, ",")
		if len(parts) < 2 || len(parts) > 3 {
			return opts, badRequest("window %q: want center,width[,function]", v)
		}
		c, err1 := strconv.ParseFloat(parts[0], 64)
		w, err2 := strconv.ParseFloat(parts[1], 64)
		if err1 != nil || err2 != nil {
			return opts, badRequest("window %q: center and width must be numbers", v)
		}
		win := &pixels.Window{Center: c, Width: w}
		if len(parts) == 3 {
			win.Function = strings.ToUpper(parts[2])
		}
		opts.Window = win
	}
	if v := get("viewport"); v != "" {
		parts := strings.Split(v, ",")
		if len(parts) != 2 && len(parts) != 6 {
			return opts, badRequest("viewport %q: want vw,vh", v)
		}
		w, err1 := strconv.Atoi(parts[0])
		h, err2 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil || w < 0 || h < 0 {
			return opts, badRequest("viewport %q: vw and vh must be positive whole numbers", v)
		}
		opts.ViewportWidth, opts.ViewportHeight = w, h
	} else if thumbnail {
		opts.ViewportWidth, opts.ViewportHeight = thumbnailSize, thumbnailSize
	}
	if v := get("quality"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return opts, badRequest("quality %q: want a whole number from 1 to 100", v)
		}
		opts.Quality = n
	}
	return opts, nil
}
