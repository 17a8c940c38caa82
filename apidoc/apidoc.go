// Package apidoc holds the OpenAPI 3.1 document of the server's HTTP API, served at
// GET /openapi.json. It is written by hand; the tests of this package and of cmd/medimg check that
// it is valid, that it names exactly the routes of the router, and that real responses of the users
// API match its schemas.
package apidoc

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// JSON is the OpenAPI document.
//
//go:embed openapi.json
var JSON []byte

// Serve answers with the document.
func Serve(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", JSON)
}
