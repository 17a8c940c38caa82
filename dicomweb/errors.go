package dicomweb

import (
	"net/http"

	"github.com/medimg/medimg/internal/httperr"
)

// Error is what the client sees of an error; every error is written by httperr.Write.
type Error = httperr.Error

// errorf makes an Error for the client.
func errorf(status int, code, format string, args ...any) *Error {
	return httperr.New(status, code, format, args...)
}

func badRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "bad_request", format, args...)
}
