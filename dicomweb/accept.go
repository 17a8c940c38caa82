package dicomweb

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/medimg/medimg/dicomweb/clip"
	"github.com/medimg/medimg/dicomweb/mediatype"
	"github.com/medimg/medimg/dicomweb/ts"
)

// Transfer syntaxes the WADO routes name.
const (
	tsImplicitLE = ts.ImplicitVRLittleEndian
	tsExplicitLE = ts.ExplicitVRLittleEndian
	tsDeflatedLE = ts.DeflatedExplicitVRLittleEndian
	tsExplicitBE = ts.ExplicitVRBigEndian
)

// wanted is one acceptable representation from an Accept header (PS3.18 §8.7): a single-part
// media type, or multipart/related with the type of its parts, and the transfer syntax asked
// ("" when the client named none, "*" for any).
type wanted struct {
	multipart      bool
	mediaType      string // the single-part type, or the multipart parts' type ("" for any)
	transferSyntax string
	q              float64
}

// parseAccept lists what an Accept header allows, best first (by q, then as written). An empty
// header allows anything. Ranges with q=0 are dropped; ranges that do not parse are ignored, as
// RFC 9110 lets a server do.
func parseAccept(header string) []wanted {
	if strings.TrimSpace(header) == "" {
		return []wanted{{mediaType: "*/*", transferSyntax: "*", q: 1}}
	}
	var out []wanted
	for _, item := range splitAccept(header) {
		mt, err := mediatype.Parse(item)
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := mt.Params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q <= 0 {
			continue
		}
		w := wanted{mediaType: mt.Type, transferSyntax: mt.Params["transfer-syntax"], q: q}
		if mt.Type == "multipart/related" || mt.Type == "multipart/*" {
			w.multipart, w.mediaType = true, strings.ToLower(mt.Params["type"])
		}
		out = append(out, w)
	}
	slices.SortStableFunc(out, func(a, b wanted) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	return out
}

// splitAccept splits on commas outside quoted strings (a boundary or type may be quoted).
func splitAccept(h string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(h); i++ {
		switch h[i] {
		case '"':
			quoted = !quoted
		case '\\':
			i++
		case ',':
			if !quoted {
				out = append(out, h[start:i])
				start = i + 1
			}
		}
	}
	return append(out, h[start:])
}

// matchesType reports whether an accepted media range covers mediaType.
func matchesType(accepted, mediaType string) bool {
	if accepted == "" || accepted == "*/*" || accepted == mediaType {
		return true
	}
	major, _, _ := strings.Cut(mediaType, "/")
	return accepted == major+"/*"
}

// notAcceptable is the 406 of the WADO routes, saying what the resource offers.
func notAcceptable(accept, offers string) *Error {
	return errorf(http.StatusNotAcceptable, "not_acceptable", "Accept %q: this resource is available as %s", clip.String(accept), offers)
}

// acceptsDICOMJSON checks that an Accept header allows a DICOM JSON response (or says nothing):
// application/dicom+json, application/json or a range covering them, with a q above 0.
func acceptsDICOMJSON(accept string) error {
	for _, w := range parseAccept(accept) {
		if !w.multipart && (matchesType(w.mediaType, MediaTypeDICOMJSON) || w.mediaType == "application/json") {
			return nil
		}
	}
	return notAcceptable(accept, MediaTypeDICOMJSON)
}
