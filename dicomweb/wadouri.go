package dicomweb

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/pixels"
	"github.com/medimg/medimg/dicomweb/uids"
	"github.com/medimg/medimg/queries"
)

// retrieveWADOURI is the URI service (PS3.18 §9, the RetrieveObject transaction):
// GET /wado?requestType=WADO&studyUID=…&seriesUID=…&objectUID=…, answering the stored object
// (contentType=application/dicom) or a rendered image (image/jpeg, the default, or image/png).
func (s *Service) retrieveWADOURI(c *gin.Context) error {
	q := c.Request.URL.Query()
	if rt := q.Get("requestType"); rt != "WADO" {
		return badRequest("requestType %q: want WADO", rt)
	}
	var sc queries.Scope
	for _, p := range []struct {
		name string
		dst  *string
	}{{"studyUID", &sc.StudyUID}, {"seriesUID", &sc.SeriesUID}, {"objectUID", &sc.SOPInstanceUID}} {
		v := q.Get(p.name)
		if err := uids.Validate(v); err != nil {
			return badRequest("%s: %v", p.name, err)
		}
		*p.dst = v
	}
	contentType, err := wadoURIContentType(q.Get("contentType"))
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	if contentType == "application/dicom" {
		insts, err := s.store.RetrieveInstances(ctx, sc)
		if err != nil {
			return err
		}
		in := insts[0]
		ts := q.Get("transferSyntax") // absent: Explicit VR Little Endian, as for WADO-RS
		if ts == "" {
			ts = tsExplicitLE
		}
		if !canSend(ts, insts) {
			return errorf(http.StatusNotAcceptable, "not_acceptable",
				"transferSyntax %s: the object is stored in %s and cannot be transcoded to it (transferSyntax=* sends it as stored)", ts, in.TransferSyntaxUID)
		}
		target := instanceRep{transferSyntax: ts}.target(in)
		body, err := s.openInstance(ctx, in, target)
		if err != nil {
			return err
		}
		c.Header("Content-Type", "application/dicom")
		if target == in.TransferSyntaxUID {
			c.Header("Content-Length", strconv.FormatInt(in.Size, 10))
		}
		c.Status(http.StatusOK)
		if err := body.writeTo(c.Writer); err != nil {
			s.log.ErrorContext(ctx, "wado-uri: response cut", "sop", in.SOPInstanceUID, "err", err)
		}
		return nil
	}
	opts, frame, err := wadoURIRenderOptions(q)
	if err != nil {
		return err
	}
	rs, err := s.loadRenderSource(ctx, sc)
	if err != nil {
		return err
	}
	b, err := s.render(ctx, rs, frame, opts, contentType, true)
	if err != nil {
		return err
	}
	c.Header("Cross-Origin-Resource-Policy", "cross-origin")
	c.Data(http.StatusOK, contentType, b)
	return nil
}

// wadoURIContentType picks the first supported type of the contentType parameter (a list is
// allowed); absent means image/jpeg, the URI service's default for images.
func wadoURIContentType(v string) (string, error) {
	if v == "" {
		return "image/jpeg", nil
	}
	for _, t := range strings.Split(v, ",") {
		switch t = strings.ToLower(strings.TrimSpace(t)); {
		case t == "application/dicom", t == "image/jpeg", t == "image/png":
			return t, nil
		case t == "*/*", t == "image/*":
			return "image/jpeg", nil
		}
	}
	return "", errorf(http.StatusNotAcceptable, "not_acceptable", "contentType %q: available as application/dicom, image/jpeg or image/png", v)
}

// wadoURIRenderOptions reads frameNumber, windowCenter/windowWidth, rows/columns and imageQuality.
func wadoURIRenderOptions(q map[string][]string) (pixels.RenderOptions, int, error) {
	var opts pixels.RenderOptions
	num := func(name string) (float64, bool, error) {
		v := ""
		if vs := q[name]; len(vs) > 0 {
			v = vs[0]
		}
		if v == "" {
			return 0, false, nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, false, badRequest("%s %q: not a number", name, v)
		}
		return f, true, nil
	}
	frame := 1
	if f, ok, err := num("frameNumber"); err != nil {
		return opts, 0, err
	} else if ok {
		if f < 1 || f != float64(int(f)) {
			return opts, 0, badRequest("frameNumber %g: frames are numbered from 1", f)
		}
		frame = int(f)
	}
	center, hasCenter, err := num("windowCenter")
	if err != nil {
		return opts, 0, err
	}
	width, hasWidth, err := num("windowWidth")
	if err != nil {
		return opts, 0, err
	}
	if hasCenter != hasWidth {
		return opts, 0, badRequest("windowCenter and windowWidth go together")
	}
	if hasCenter {
		opts.Window = &pixels.Window{Center: center, Width: width}
	}
	for name, dst := range map[string]*int{"rows": &opts.ViewportHeight, "columns": &opts.ViewportWidth} {
		f, ok, err := num(name)
		if err != nil {
			return opts, 0, err
		}
		if ok {
			if f < 1 || f != float64(int(f)) {
				return opts, 0, badRequest("%s %g: want a positive whole number", name, f)
			}
			*dst = int(f)
		}
	}
	if f, ok, err := num("imageQuality"); err != nil {
		return opts, 0, err
	} else if ok {
		if f < 1 || f > 100 {
			return opts, 0, badRequest("imageQuality %g: want 1 to 100", f)
		}
		opts.Quality = int(f)
	}
	return opts, frame, nil
}
