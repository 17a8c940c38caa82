// Package httperr is the one way every HTTP surface of medimg (DICOMweb, users, operations) turns
// an error into a response: a status and one JSON body shape, {"code", "message"} (and "fields"
// for validation errors). The message is for the client; the cause is for the log only, so a 500
// never leaks internal text.
package httperr

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/storage"
)

// Error is an error with what the client may see: an HTTP status, a stable code and a message.
type Error struct {
	Status  int
	Code    string
	Message string
	// Fields lists every invalid field of a request body (422).
	Fields []FieldError
	Cause  error
}

// FieldError names one invalid field of a request and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Cause)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// New makes an Error for the client.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// body is the one JSON shape of every error response outside the DICOM payloads.
type body struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields,omitempty"`
}

// From maps any error to the client's view of it, in one table.
func From(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, storage.ErrNotFound):
		// Every stored file is opened under an index row that names it: a missing blob is the
		// server's fault (a lost file, a broken store), never the client's unknown UID.
		return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log", Cause: err}
	case errors.Is(err, queries.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: notFoundMessage(err), Cause: err}
	case errors.Is(err, queries.ErrConflict), errors.Is(err, queries.ErrDuplicate):
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: "the request conflicts with stored data", Cause: err}
	default:
		return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log", Cause: err}
	}
}

// notFoundMessage keeps the identifying part of a store error ("study 1.2.3 not found") and drops
// the package prefix.
func notFoundMessage(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if msg, ok := strings.CutPrefix(e.Error(), "queries: "); ok {
			return msg
		}
	}
	return "not found"
}

// Handle adapts a handler that returns an error: the error is written here, the same way for every
// route.
func Handle(log *slog.Logger, fn func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := fn(c); err != nil {
			Write(c, log, err)
		}
	}
}

// Write writes err as the JSON error body with its status; a server error is logged with its cause
// and the request ID.
func Write(c *gin.Context, log *slog.Logger, err error) {
	e := From(err)
	if e.Status >= 500 {
		msg := "request failed"
		if errors.Is(err, storage.ErrNotFound) {
			msg = "request failed: a stored file is missing under its index row" // the error names the key
		}
		log.ErrorContext(c.Request.Context(), msg, "request_id", c.GetString("request_id"),
			"method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	}
	c.Error(err)
	if c.Writer.Written() {
		return // too late for a status; the log has it
	}
	c.AbortWithStatusJSON(e.Status, body{Code: e.Code, Message: e.Message, Fields: e.Fields})
}
