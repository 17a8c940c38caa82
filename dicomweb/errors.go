package dicomweb

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/storage"
)

// Error is an error with what the client may see: an HTTP status, a stable code and a message.
// The cause is for the log only, so a 500 never leaks internal text.
type Error struct {
	Status  int
	Code    string
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Cause)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// errorf makes an Error for the client.
func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "bad_request", format, args...)
}

// errorBody is the one JSON shape of every error response outside the DICOM payloads.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// toError maps any error to the client's view of it, in one table.
func toError(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, queries.ErrNotFound), errors.Is(err, storage.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: notFoundMessage(err), Cause: err}
	case errors.Is(err, queries.ErrConflict), errors.Is(err, queries.ErrDuplicate):
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: "the request conflicts with stored data", Cause: err}
	default:
		return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log", Cause: err}
	}
}

// notFoundMessage keeps the identifying part of a store error ("study 1.2.3 not found") and drops the
// package prefix.
func notFoundMessage(err error) string {
	var msg string
	for e := err; e != nil; e = errors.Unwrap(e) {
		msg = e.Error()
		if len(msg) > 9 && msg[:9] == "queries: " {
			return msg[9:]
		}
	}
	return "not found"
}

// handle adapts a handler that returns an error: the error is written here, the same way for every
// route, and logged with its cause when it is a server error.
func handle(log *slog.Logger, fn func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := fn(c)
		if err == nil {
			return
		}
		WriteError(c, log, err)
	}
}

// WriteError writes err as the JSON error body with its status.
func WriteError(c *gin.Context, log *slog.Logger, err error) {
	e := toError(err)
	if e.Status >= 500 {
		log.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	}
	c.Error(err)
	if c.Writer.Written() {
		return // too late for a status; the log has it
	}
	c.AbortWithStatusJSON(e.Status, errorBody{Code: e.Code, Message: e.Message})
}
