package dicomweb

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/qido"
	"github.com/medimg/medimg/dicomweb/transcode"
	"github.com/medimg/medimg/dicomweb/ts"
)

// The capabilities are built from the handlers' tables: check them against those tables.
func TestCapabilitiesFollowTheTables(t *testing.T) {
	var c Capabilities
	if err := json.Unmarshal(capabilitiesJSON(), &c); err != nil {
		t.Fatal(err)
	}
	syntaxes := map[string]SyntaxCapability{}
	for _, s := range c.TransferSyntaxes {
		syntaxes[s.UID] = s
	}
	t.Run("every_matching_key_is_listed", func(t *testing.T) {
		for _, a := range qido.Attributes() {
			if !slices.ContainsFunc(c.Search.MatchingKeys, func(k MatchingKey) bool { return k.Keyword == a.Keyword }) {
				t.Errorf("matching key %s is not listed", a.Keyword)
			}
		}
		if len(c.Search.MatchingKeys) != len(qido.Attributes()) {
			t.Errorf("%d matching keys listed, the registry has %d", len(c.Search.MatchingKeys), len(qido.Attributes()))
		}
	})
	t.Run("every_decodable_syntax_is_listed_as_decodable", func(t *testing.T) {
		for uid := range decodable {
			if !syntaxes[uid].DecodedToNative {
				t.Errorf("%s is decodable but not listed as such", uid)
			}
		}
		for uid, s := range syntaxes {
			if s.DecodedToNative != decodable[uid] {
				t.Errorf("%s: decoded_to_native %v, the frames handler says %v", uid, s.DecodedToNative, decodable[uid])
			}
		}
	})
	t.Run("compressed_syntaxes_name_their_frame_media_type", func(t *testing.T) {
		for uid, mt := range compressedMediaTypes {
			if s, ok := syntaxes[uid]; !ok || s.FrameMediaType != mt || !s.Stored {
				t.Errorf("%s: listed as %+v, want frame media type %s", uid, s, mt)
			}
		}
	})
	t.Run("transcoding_follows_transcode_Supported", func(t *testing.T) {
		for _, from := range ts.All() {
			for _, to := range ts.All() {
				listed := slices.Contains(syntaxes[from.UID].TranscodedTo, to.UID)
				if want := from.UID != to.UID && transcode.Supported(from.UID, to.UID); listed != want {
					t.Errorf("%s to %s: listed %v, transcode.Supported %v", from.Name, to.Name, listed, want)
				}
			}
		}
		if !slices.Contains(syntaxes[ts.JPEGBaseline8Bit].TranscodedTo, ts.ExplicitVRLittleEndian) {
			t.Errorf("JPEG baseline to explicit little endian is not listed")
		}
	})
	t.Run("the_paths_are_the_routes", func(t *testing.T) {
		gin.SetMode(gin.ReleaseMode)
		r := gin.New()
		(&Service{log: slog.New(slog.DiscardHandler)}).Routes(r.Group("/dicomweb"))
		routed := map[string]bool{}
		for _, rt := range r.Routes() {
			routed[rt.Method+" "+rt.Path] = true
		}
		published := map[string]bool{"GET /dicomweb": true}
		for _, tx := range c.Transactions {
			for _, p := range tx.Paths {
				if tx.Name != wadoURI {
					published[tx.Method+" /dicomweb"+routeTemplate(p)] = true
				}
			}
		}
		for k := range routed {
			if !published[k] {
				t.Errorf("%s is routed but not published", k)
			}
		}
		for k := range published {
			if !routed[k] {
				t.Errorf("%s is published but not routed", k)
			}
		}
		if len(routed) < 28 || !routed["GET /dicomweb/studies/:study/series/:series/instances/:instance/bulkdata/*path"] {
			t.Errorf("%d routes: %v", len(routed), routed)
		}
	})
	t.Run("limits_are_the_search_limits", func(t *testing.T) {
		if c.Search.MaxLimit != MaxSearchLimit || c.Search.DefaultLimit != DefaultSearchLimit || c.Search.MaxListValues != qido.MaxListValues {
			t.Errorf("limits %+v", c.Search)
		}
	})
}

func TestRetrieveCapabilities(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	s := &Service{log: slog.New(slog.DiscardHandler)}
	s.Routes(r.Group("/dicomweb"))
	for _, tc := range []struct {
		accept string
		status int
	}{
		{"", 200},
		{"application/json", 200},
		{"*/*", 200},
		{"application/vnd.sun.wadl+xml, application/json;q=0.5", 200},
		{"application/vnd.sun.wadl+xml", 406},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/dicomweb", nil)
			req.Header.Set("Accept", tc.accept)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d %s, want %d", w.Code, w.Body, tc.status)
			}
			if tc.status == 406 && !strings.Contains(w.Body.String(), "application/json") {
				t.Errorf("the 406 does not name JSON: %s", w.Body)
			}
			if tc.status == 200 && w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", w.Header().Get("Content-Type"))
			}
		})
	}
	var c Capabilities
	if err := json.Unmarshal(capabilitiesJSON(), &c); err != nil || len(c.Transactions) == 0 {
		t.Fatalf("%v %+v", err, c)
	}
}
