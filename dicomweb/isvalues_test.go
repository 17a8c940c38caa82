package dicomweb_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
)

// IS values beyond 32 bits are stored and matched exactly, or refused with a reason: never wrapped.
func TestLargeISValues(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		spec := dicomgen.Spec{InstanceNumber: 4294967297, SeriesNumber: 8589934593}.WithDefaults()
		if r := s.stowParts(t, dicomPart(generated(t, spec))); r.status != http.StatusOK {
			t.Fatalf("store: %d %q", r.status, r.warnings)
		}
		series := "/dicomweb/studies/" + spec.StudyInstanceUID + "/series/" + spec.SeriesInstanceUID + "/instances"
		r := s.qido(t, series+"?InstanceNumber=4294967297")
		if got := column(r, "00200013"); len(got) != 1 || got[0] != "4294967297" {
			t.Errorf("InstanceNumber=4294967297: %q, want the instance with 4294967297", got)
		}
		if got := column(s.qido(t, series+"?InstanceNumber=1"), "00200013"); len(got) != 0 {
			t.Errorf("InstanceNumber=1 (the wrapped value) matched %q", got)
		}
		r = s.qido(t, "/dicomweb/studies/"+spec.StudyInstanceUID+"/series?SeriesNumber=8589934593")
		if got := column(r, "00200011"); len(got) != 1 || got[0] != "8589934593" {
			t.Errorf("SeriesNumber=8589934593: %q", got)
		}

		frames := dicomgen.Spec{NumberOfFrames: 2,
			Override: map[dicomgen.Tag]string{{Group: 0x0028, Element: 0x0008}: "9999999999"}}
		r2 := s.stowParts(t, dicomPart(generated(t, frames)))
		if r2.status != http.StatusBadRequest || len(r2.failed) != 1 || r2.failed[0].reason != 0xA900 ||
			!strings.Contains(strings.Join(r2.warnings, ""), "NumberOfFrames 9999999999") {
			t.Errorf("NumberOfFrames 9999999999: %d %s %q, want 400 with 0xA900 naming it", r2.status, fmtReasons(r2.failed), r2.warnings)
		}
	})
}
