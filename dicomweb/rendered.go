package dicomweb

import (
	"context"
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
	jobs, err := s.renderJobs(c, sc, frames, thumbnail)
	if err != nil {
		return err
	}
	next := s.imageSequence(ctx, jobs, thumbnail, opts, mediaType)
	// Images are rendered as they are written, one at a time (two at the start, to tell a single
	// image from several): a study's rendered response never holds more than that in memory. An
	// error before the first image is sent is an error response.
	first, err := next()
	if err != nil {
		return err
	}
	if first == nil {
		return errorf(http.StatusNotFound, "not_found", "%s has nothing to render", sc)
	}
	second, err := next()
	if err != nil {
		return err
	}
	c.Header("Cross-Origin-Resource-Policy", "cross-origin")
	if second == nil {
		c.Data(http.StatusOK, mediaType, first)
		return nil
	}
	mw := startMultipart(c, mediaType)
	for b := first; b != nil; {
		part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {mediaType}})
		if err == nil {
			_, err = part.Write(b)
		}
		if err == nil {
			b, second, err = second, nil, nil
			if b == nil {
				b, err = next()
			}
		}
		if err != nil {
			s.logCut(c, "rendered", err, "scope", sc.String())
			return nil
		}
	}
	s.logCut(c, "rendered", mw.Close(), "scope", sc.String())
	return nil
}

// renderJob is one instance to render: the frames asked, or nil for every frame (rendered) or the
// first (thumbnail).
type renderJob struct {
	scope  queries.Scope
	frames []int
}

// renderJobs lists the instances a rendered or thumbnail request covers.
func (s *Service) renderJobs(c *gin.Context, sc queries.Scope, frames []int, thumbnail bool) ([]renderJob, error) {
	if sc.SOPInstanceUID != "" {
		if thumbnail && len(frames) > 1 {
			frames = frames[:1]
		}
		return []renderJob{{sc, frames}}, nil
	}
	insts, err := s.store.RetrieveInstances(c.Request.Context(), sc)
	if err != nil {
		return nil, err
	}
	if thumbnail {
		insts = representative(insts)
	}
	jobs := make([]renderJob, len(insts))
	for i, in := range insts {
		jobs[i] = renderJob{scope: queries.Scope{StudyUID: sc.StudyUID, SeriesUID: in.SeriesInstanceUID, SOPInstanceUID: in.SOPInstanceUID}}
	}
	return jobs, nil
}

// imageSequence returns a function that renders the next image of jobs each time it is called,
// and nil after the last. Frame numbers are counted, never listed, so an instance claiming millions
// of frames costs no memory up front.
func (s *Service) imageSequence(ctx context.Context, jobs []renderJob, thumbnail bool, opts pixels.RenderOptions, mediaType string) func() ([]byte, error) {
	var rs *renderSource
	job, frame := -1, 0 // frame: index into jobs[job].frames, or the frame number when frames is nil
	return func() ([]byte, error) {
		for {
			if rs != nil {
				j := jobs[job]
				n, more := 0, false
				switch {
				case j.frames != nil:
					if more = frame < len(j.frames); more {
						n = j.frames[frame]
					}
				case thumbnail:
					n, more = 1, frame == 0
				default:
					n, more = frame+1, frame < rs.src.NumberOfFrames
				}
				if more {
					frame++
					single := len(jobs) == 1 && (thumbnail || len(j.frames) == 1 || (j.frames == nil && rs.src.NumberOfFrames == 1))
					return s.render(ctx, rs, n, opts, mediaType, single)
				}
			}
			if job+1 >= len(jobs) {
				return nil, nil
			}
			job, frame = job+1, 0
			var err error
			if rs, err = s.loadRenderSource(ctx, jobs[job].scope); err != nil {
				return nil, err
			}
		}
	}
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
