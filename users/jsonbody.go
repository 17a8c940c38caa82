package users

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/internal/httperr"
)

// maxJSONBody bounds the body of a users-API request: the largest valid one is well under 2 KiB.
const maxJSONBody = 64 << 10

// decodeJSON reads a JSON object into dst strictly: the body must be application/json (415), well
// formed UTF-8 JSON holding one object (400), without duplicate or unknown keys (400); a value of
// the wrong type is a 422 naming its field.
func decodeJSON(c *gin.Context, dst any) error {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "application/json" {
		return httperr.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return httperr.New(http.StatusRequestEntityTooLarge, "too_large", "the body is over %d bytes", maxJSONBody)
		}
		return httperr.New(http.StatusBadRequest, "bad_request", "the body could not be read")
	}
	return unmarshalStrict(body, dst)
}

// unmarshalStrict is decodeJSON after the body is read.
func unmarshalStrict(body []byte, dst any) error {
	if !utf8.Valid(body) {
		return badJSON("the body is not valid UTF-8")
	}
	if err := checkObjectKeys(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			e := &httperr.Error{Status: http.StatusUnprocessableEntity, Code: "invalid",
				Message: "the request has invalid fields", Cause: err}
			e.Fields = []httperr.FieldError{{Field: typeErr.Field, Message: "must be " + jsonKind(typeErr.Type.Kind().String())}}
			return e
		}
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return badJSON("unknown field " + field)
		}
		return badJSON("malformed JSON")
	}
	return nil
}

// checkObjectKeys makes sure the body is one JSON object with no key given twice (encoding/json
// would silently keep the last, so {"role":"reader","role":"admin"} could slip past a review).
func checkObjectKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return badJSON("the body must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return badJSON("malformed JSON")
		}
		key, _ := tok.(string)
		if seen[key] {
			return badJSON("duplicate key " + key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return badJSON("malformed JSON")
		}
	}
	if _, err := dec.Token(); err != nil {
		return badJSON("malformed JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badJSON("data after the JSON object")
	}
	return nil
}

func badJSON(msg string) *httperr.Error {
	return httperr.New(http.StatusBadRequest, "bad_request", "%s", msg)
}

// jsonKind names a Go kind as a JSON type.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "uint", "uint64", "uint32", "float64":
		return "a number"
	default:
		return "a " + kind
	}
}
