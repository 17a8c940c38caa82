// Package migrations holds the schema of the metadata store, one numbered golang-migrate set per
// engine, embedded so that the binary migrates its database at start-up with no files beside it.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// For returns the migration files of engine ("postgres" or "sqlite").
func For(engine string) (fs.FS, error) {
	return fs.Sub(files, engine)
}
