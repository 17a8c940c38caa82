// Package ts names the transfer syntaxes (PS3.5 §10, PS3.6 Annex A) the server reads, writes or
// recognises: one set of constants for ingest, transcoding, the pixel pipeline and the HTTP layer,
// so that no copy of a UID can drift.
package ts

// Native (uncompressed) syntaxes.
const (
	ImplicitVRLittleEndian         = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian         = "1.2.840.10008.1.2.1"
	EncapsulatedUncompressedLE     = "1.2.840.10008.1.2.1.98"
	DeflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian            = "1.2.840.10008.1.2.2"
)

// Compressed syntaxes.
const (
	JPEGBaseline8Bit      = "1.2.840.10008.1.2.4.50"
	JPEGExtended12Bit     = "1.2.840.10008.1.2.4.51"
	JPEGLossless          = "1.2.840.10008.1.2.4.57"
	JPEGLosslessSV1       = "1.2.840.10008.1.2.4.70"
	JPEGLSLossless        = "1.2.840.10008.1.2.4.80"
	JPEGLSNearLossless    = "1.2.840.10008.1.2.4.81"
	JPEG2000Lossless      = "1.2.840.10008.1.2.4.90"
	JPEG2000              = "1.2.840.10008.1.2.4.91"
	JPEG2000Part2Lossless = "1.2.840.10008.1.2.4.92"
	JPEG2000Part2         = "1.2.840.10008.1.2.4.93"
	HTJ2KLossless         = "1.2.840.10008.1.2.4.201"
	HTJ2KLosslessRPCL     = "1.2.840.10008.1.2.4.202"
	HTJ2K                 = "1.2.840.10008.1.2.4.203"
	RLELossless           = "1.2.840.10008.1.2.5"
)

// JPEGFamilyPrefix starts the UIDs of the JPEG, JPEG-LS, JPEG 2000 and HTJ2K syntaxes (and of the
// retired JPEG processes), which ingest tells apart by their codestream markers.
const JPEGFamilyPrefix = "1.2.840.10008.1.2.4."

// Syntax is a transfer syntax and its PS3.6 name.
type Syntax struct {
	UID, Name string
	Native    bool
}

// All lists every transfer syntax of the package, native first, so that a table built from it
// (the capabilities of GET /dicomweb) names every syntax the constants name.
func All() []Syntax {
	return []Syntax{
		{ImplicitVRLittleEndian, "Implicit VR Little Endian", true},
		{ExplicitVRLittleEndian, "Explicit VR Little Endian", true},
		{EncapsulatedUncompressedLE, "Encapsulated Uncompressed Explicit VR Little Endian", false},
		{DeflatedExplicitVRLittleEndian, "Deflated Explicit VR Little Endian", true},
		{ExplicitVRBigEndian, "Explicit VR Big Endian", true},
		{JPEGBaseline8Bit, "JPEG Baseline (Process 1)", false},
		{JPEGExtended12Bit, "JPEG Extended (Process 2 & 4)", false},
		{JPEGLossless, "JPEG Lossless (Process 14)", false},
		{JPEGLosslessSV1, "JPEG Lossless SV1 (Process 14, Selection Value 1)", false},
		{JPEGLSLossless, "JPEG-LS Lossless", false},
		{JPEGLSNearLossless, "JPEG-LS Lossy (Near-Lossless)", false},
		{JPEG2000Lossless, "JPEG 2000 (Lossless Only)", false},
		{JPEG2000, "JPEG 2000", false},
		{JPEG2000Part2Lossless, "JPEG 2000 Part 2 Multi-component (Lossless Only)", false},
		{JPEG2000Part2, "JPEG 2000 Part 2 Multi-component", false},
		{HTJ2KLossless, "HTJ2K (Lossless Only)", false},
		{HTJ2KLosslessRPCL, "HTJ2K with RPCL Options (Lossless Only)", false},
		{HTJ2K, "HTJ2K", false},
		{RLELossless, "RLE Lossless", false},
	}
}
