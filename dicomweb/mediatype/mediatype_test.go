package mediatype

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     MediaType
	}{
		{"bare", "application/dicom", MediaType{"application/dicom", map[string]string{}}},
		{"cornerstone_unquoted", "multipart/related; type=application/octet-stream; transfer-syntax=*",
			MediaType{"multipart/related", map[string]string{"type": "application/octet-stream", "transfer-syntax": "*"}}},
		{"ohif_quoted", `multipart/related; type="application/octet-stream"; transfer-syntax="*"`,
			MediaType{"multipart/related", map[string]string{"type": "application/octet-stream", "transfer-syntax": "*"}}},
		{"quoted_boundary_with_space", `multipart/related; type="application/dicom"; boundary="a b;c"`,
			MediaType{"multipart/related", map[string]string{"type": "application/dicom", "boundary": "a b;c"}}},
		{"escaped_quote", `text/plain; x="a\"b"`, MediaType{"text/plain", map[string]string{"x": `a"b`}}},
		{"case_and_space", ` Multipart/Related ;  Type = application/dicom ; `,
			MediaType{"multipart/related", map[string]string{"type": "application/dicom"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "application", "/dicom", "a/b; x", "a/b; x=", `a/b; x="open`, "a/b; x=1 y=2", "a b/c"} {
		if _, err := Parse(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) err = %v, want ErrSyntax", in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`multipart/related; type="application/dicom"; boundary=x`)
	f.Fuzz(func(t *testing.T, s string) {
		if mt, err := Parse(s); err == nil && mt.Type == "" {
			t.Fatalf("accepted %q with an empty type", s)
		}
	})
}
