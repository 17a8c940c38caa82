package dicomweb

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/qido"
	"github.com/medimg/medimg/dicomweb/transcode"
	"github.com/medimg/medimg/dicomweb/ts"
)

// Capabilities is the answer of GET /dicomweb (PS3.18's Retrieve Capabilities transaction), in JSON
// rather than WADL. Its transfer syntaxes and matching keys are built from the tables the handlers
// use (compressedMediaTypes, decodable, transcode.Supported, qido.Attributes), so it cannot drift
// from what the server does.
type Capabilities struct {
	Service          string             `json:"service"`
	Transactions     []Transaction      `json:"transactions"`
	TransferSyntaxes []SyntaxCapability `json:"transfer_syntaxes"`
	Search           SearchCapabilities `json:"search"`
}

// Transaction is one family of routes (store, search, retrieve…) and its media types.
type Transaction struct {
	Name     string   `json:"name"`
	Standard string   `json:"standard"`
	Method   string   `json:"method"`
	Paths    []string `json:"paths"`
	// Request is the media types of the request body; Response those the client may ask in Accept.
	Request  []string `json:"request,omitempty"`
	Response []string `json:"response"`
}

// SyntaxCapability says what the server does with instances stored in one transfer syntax.
type SyntaxCapability struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
	// Stored: instances in this syntax are accepted by STOW-RS and sent as stored.
	Stored bool `json:"stored"`
	// FrameMediaType is the media type of its frames sent as stored ("" for native syntaxes, whose
	// frames are application/octet-stream).
	FrameMediaType string `json:"frame_media_type,omitempty"`
	// DecodedToNative: its frames can be asked as native application/octet-stream (and rendered).
	DecodedToNative bool `json:"decoded_to_native"`
	// TranscodedTo lists the syntaxes whole instances stored in it can be sent in.
	TranscodedTo []string `json:"transcoded_to"`
}

// SearchCapabilities is what QIDO-RS matches on and how.
type SearchCapabilities struct {
	Levels        []string      `json:"levels"`
	MatchingKeys  []MatchingKey `json:"matching_keys"`
	Wildcards     string        `json:"wildcards"`
	FuzzyMatching bool          `json:"fuzzy_matching"`
	Ranges        []string      `json:"ranges"`
	UIDLists      bool          `json:"uid_lists"`
	IncludeField  []string      `json:"includefield"`
	DefaultLimit  int           `json:"default_limit"`
	MaxLimit      int           `json:"max_limit"`
	MaxParameters int           `json:"max_parameters"`
	MaxListValues int           `json:"max_list_values"`
}

// MatchingKey is one attribute a search matches on.
type MatchingKey struct {
	Keyword  string `json:"keyword"`
	Tag      string `json:"tag"`
	VR       string `json:"vr"`
	Level    string `json:"level"`
	Sequence string `json:"sequence,omitempty"`
}

const (
	mtDICOM          = "application/dicom"
	mtMultipartDICOM = `multipart/related; type="application/dicom"`
	mtOctets         = "application/octet-stream"
	mtMultipartBytes = `multipart/related; type="application/octet-stream"`
)

// wadoURI is the one transaction outside /dicomweb.
const wadoURI = "wado-uri"

// transactions lists the routes by family: Routes registers exactly these paths, and GET /dicomweb
// publishes them.
var transactions = []Transaction{
	{"store", "PS3.18 §10.5 STOW-RS", "POST", []string{"/studies", "/studies/{study}"},
		[]string{mtMultipartDICOM}, []string{MediaTypeDICOMJSON, "application/json"}},
	{"search-studies", "PS3.18 §10.6 QIDO-RS", "GET", []string{"/studies"}, nil, []string{MediaTypeDICOMJSON, "application/json"}},
	{"search-series", "PS3.18 §10.6 QIDO-RS", "GET", []string{"/series", "/studies/{study}/series"}, nil, []string{MediaTypeDICOMJSON, "application/json"}},
	{"search-instances", "PS3.18 §10.6 QIDO-RS", "GET", []string{"/instances", "/studies/{study}/instances", "/studies/{study}/series/{series}/instances"},
		nil, []string{MediaTypeDICOMJSON, "application/json"}},
	{"retrieve-instances", "PS3.18 §10.4 WADO-RS", "GET", []string{"/studies/{study}", "/studies/{study}/series/{series}", "/studies/{study}/series/{series}/instances/{instance}"},
		nil, []string{mtMultipartDICOM, mtDICOM, "application/zip"}},
	{"retrieve-metadata", "PS3.18 §10.4 WADO-RS", "GET", []string{"/studies/{study}/metadata", "/studies/{study}/series/{series}/metadata", "/studies/{study}/series/{series}/instances/{instance}/metadata"},
		nil, []string{MediaTypeDICOMJSON, "application/json"}},
	{"retrieve-frames", "PS3.18 §10.4 WADO-RS", "GET", []string{"/studies/{study}/series/{series}/instances/{instance}/frames/{frames}"},
		nil, frameMediaTypes()},
	{"retrieve-bulkdata", "PS3.18 §10.4 WADO-RS", "GET", []string{"/studies/{study}/series/{series}/instances/{instance}/bulkdata/{path}"},
		nil, []string{mtMultipartBytes, mtOctets}},
	{"retrieve-rendered", "PS3.18 §10.4 WADO-RS", "GET", []string{"/studies/{study}/rendered", "/studies/{study}/series/{series}/rendered",
		"/studies/{study}/series/{series}/instances/{instance}/rendered", "/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/rendered"},
		nil, []string{"image/jpeg", "image/png"}},
	{"retrieve-thumbnail", "PS3.18 §10.4 WADO-RS", "GET", []string{"/studies/{study}/thumbnail", "/studies/{study}/series/{series}/thumbnail",
		"/studies/{study}/series/{series}/instances/{instance}/thumbnail", "/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/thumbnail"},
		nil, []string{"image/jpeg", "image/png"}},
	{"delete", "not in PS3.18", "DELETE", []string{"/studies/{study}", "/studies/{study}/series/{series}", "/studies/{study}/series/{series}/instances/{instance}"},
		nil, nil},
	{wadoURI, "PS3.18 §9 WADO-URI (at /wado, outside /dicomweb)", "GET", []string{"/wado"}, nil, []string{mtDICOM, "image/jpeg", "image/png"}},
}

// frameMediaTypes is octet-stream and every codec type of compressedMediaTypes, single part or in
// multipart/related.
func frameMediaTypes() []string {
	types := []string{mtOctets}
	for _, mt := range compressedMediaTypes {
		if !slices.Contains(types, mt) {
			types = append(types, mt)
		}
	}
	slices.Sort(types[1:])
	out := []string{mtMultipartBytes}
	for _, mt := range types[1:] {
		out = append(out, fmt.Sprintf("multipart/related; type=%q", mt))
	}
	return append(out, types...)
}

// capabilities builds the document from the server's tables.
func capabilities() Capabilities {
	c := Capabilities{Service: "medimg DICOMweb", Transactions: transactions}
	all := ts.All()
	for _, from := range all {
		_, compressed := compressedMediaTypes[from.UID]
		sc := SyntaxCapability{UID: from.UID, Name: from.Name, Stored: from.Native || compressed,
			FrameMediaType: compressedMediaTypes[from.UID], DecodedToNative: decodable[from.UID], TranscodedTo: []string{}}
		for _, to := range all {
			if to.UID != from.UID && transcode.Supported(from.UID, to.UID) {
				sc.TranscodedTo = append(sc.TranscodedTo, to.UID)
			}
		}
		c.TransferSyntaxes = append(c.TransferSyntaxes, sc)
	}
	c.Search = SearchCapabilities{
		Levels:        []string{qido.Study.String(), qido.Series.String(), qido.Instance.String()},
		Wildcards:     "* and ? in PN, LO, SH and CS values",
		FuzzyMatching: true,
		Ranges:        []string{"DA", "TM"},
		UIDLists:      true,
		IncludeField:  []string{"all", "keyword", "tag"},
		DefaultLimit:  DefaultSearchLimit,
		MaxLimit:      MaxSearchLimit,
		MaxParameters: qido.MaxParameters,
		MaxListValues: qido.MaxListValues,
	}
	for _, a := range qido.Attributes() {
		k := MatchingKey{Keyword: a.Keyword, Tag: fmt.Sprintf("%08X", a.Tag), VR: a.VR, Level: a.Level.String()}
		if a.Sequence != 0 {
			k.Sequence = fmt.Sprintf("%08X", a.Sequence)
		}
		c.Search.MatchingKeys = append(c.Search.MatchingKeys, k)
	}
	return c
}

// retrieveCapabilities answers GET /dicomweb with the document built at start-up. PS3.18's WADL
// is not offered: a client that takes only it gets a 406 naming JSON.
func retrieveCapabilities(doc []byte) func(c *gin.Context) error {
	return func(c *gin.Context) error {
		accept := c.GetHeader("Accept")
		for _, w := range parseAccept(accept) {
			if !w.multipart && matchesType(w.mediaType, "application/json") {
				c.Data(http.StatusOK, "application/json", doc)
				return nil
			}
		}
		return notAcceptable(accept, "application/json (WADL is not offered)")
	}
}

// capabilitiesJSON is the document of retrieveCapabilities, marshalled once.
func capabilitiesJSON() []byte {
	b, err := json.Marshal(capabilities())
	if err != nil {
		panic(err) // plain structs of strings and numbers always marshal
	}
	return b
}
