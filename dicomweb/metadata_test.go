package dicomweb_test

import (
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb"
)

// relativeBulkDataURI is how stored metadata writes a BulkDataURI (dicomweb/ingest).
const relativeBulkDataURI = `"BulkDataURI":"bulkdata/`

// TestIndexRelativeBulkDataURI checks the search that metadata responses make for stored
// BulkDataURIs against strings.Index.
func TestIndexRelativeBulkDataURI(t *testing.T) {
	for name, md := range map[string]string{
		"none":            `{"00100010":{"vr":"PN","Value":[{"Alphabetic":"BULK^B"}]}}`,
		"empty":           ``,
		"at_start":        relativeBulkDataURI + `7FE00010"}}`,
		"pixel_data":      `{"00280010":{"vr":"US","Value":[16]},"7FE00010":{"vr":"OW","BulkDataURI":"bulkdata/7FE00010"}}`,
		"two":             `{"00420011":{"vr":"OB","BulkDataURI":"bulkdata/00420011"},"7FE00010":{"vr":"OW","BulkDataURI":"bulkdata/7FE00010"}}`,
		"without_quote":   `{"0008103E":{"vr":"LO","Value":["BulkDataURI\":\"bulkdata/"]}}`,
		"quote_after_B":   `BBulkDataURI":"bulkdata/ "BulkDataURI":"bulkdata/x`,
		"truncated":       `{"7FE00010":{"vr":"OW","BulkDataURI":"bulkdata`,
		"tail_at_start":   `BulkDataURI":"bulkdata/`,
		"many_b_no_match": strings.Repeat(`"B":"BulkDataURI"`, 100),
	} {
		t.Run(name, func(t *testing.T) {
			if got, want := dicomweb.IndexRelativeBulkDataURI(md), strings.Index(md, relativeBulkDataURI); got != want {
				t.Errorf("IndexRelativeBulkDataURI(%q) = %d, want %d", md, got, want)
			}
		})
	}
}

func FuzzIndexRelativeBulkDataURI(f *testing.F) {
	f.Add(`{"7FE00010":{"vr":"OW","BulkDataURI":"bulkdata/7FE00010"}}`)
	f.Add(`BulkDataURI":"bulkdata/"BulkDataURI":"bulkdata/`)
	f.Fuzz(func(t *testing.T, md string) {
		if got, want := dicomweb.IndexRelativeBulkDataURI(md), strings.Index(md, relativeBulkDataURI); got != want {
			t.Errorf("IndexRelativeBulkDataURI(%q) = %d, want %d", md, got, want)
		}
	})
}
