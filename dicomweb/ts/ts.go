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
