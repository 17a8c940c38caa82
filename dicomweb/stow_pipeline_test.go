package dicomweb_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
)

// TestStoreInstancesManyPartsKeepTheirOrder sends more parts than are committed at once, with a
// part repeated later in the same request: the parts' commits overlap, yet the answer lists them
// in the order sent and the repeat is the duplicate, exactly as when parts were stored one by one.
func TestStoreInstancesManyPartsKeepTheirOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		study := dicomgen.UID()
		var parts []part
		var uids []string
		for i := range 20 {
			uid := dicomgen.UID()
			uids = append(uids, uid)
			parts = append(parts, dicomPart(generated(t, dicomgen.Spec{Seed: uint64(i + 1), StudyInstanceUID: study, SOPInstanceUID: uid})))
		}
		parts = append(parts, parts[4]) // part 21 repeats part 5
		resp := s.stowParts(t, parts...)
		if resp.status != http.StatusAccepted || len(resp.referenced) != 20 || len(resp.failed) != 1 {
			t.Fatalf("status %d, %d stored, failed %s; want 202, 20, one duplicate", resp.status, len(resp.referenced), fmtReasons(resp.failed))
		}
		for i, ref := range resp.referenced {
			if ref.instanceUID != uids[i] {
				t.Errorf("referenced[%d] = %s, want part %d's %s", i, ref.instanceUID, i+1, uids[i])
			}
		}
		if f := resp.failed[0]; f.instanceUID != uids[4] || f.reason != 0x0111 {
			t.Errorf("failed = %s 0x%04X, want %s 0x0111", f.instanceUID, f.reason, uids[4])
		}
		if len(resp.warnings) != 1 || !strings.Contains(resp.warnings[0], "part 21:") {
			t.Errorf("warnings %q, want one naming part 21", resp.warnings)
		}
		if n := len(s.blobFiles(t)); n != 20 {
			t.Errorf("%d blobs, want 20", n)
		}
		st, err := s.store.GetStudy(context.Background(), study)
		if err != nil || st.NumInstances != 20 {
			t.Errorf("study: %d instances, %v; want 20", st.NumInstances, err)
		}
	})
}

// TestStoreInstancesOverwriteWithinARequest sends three versions of one instance in one request
// with --on-duplicate=overwrite, each under a study of its own (dicomgen makes new UIDs): the last
// one sent is the one kept, with its blob alone, whatever order the studies' UIDs sort in.
func TestStoreInstancesOverwriteWithinARequest(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{OnDuplicate: dicomweb.OnDuplicateOverwrite})
		spec := dicomgen.Spec{SOPInstanceUID: dicomgen.UID()}
		var parts []part
		for v := 1; v <= 3; v++ {
			spec.PatientName, spec.Seed = fmt.Sprintf("Version^%d", v), uint64(v)
			parts = append(parts, dicomPart(generated(t, spec)))
		}
		if resp := s.stowParts(t, parts...); resp.status != http.StatusOK || len(resp.referenced) != 3 {
			t.Fatalf("status %d, %d referenced, warnings %q", resp.status, len(resp.referenced), resp.warnings)
		}
		inst, err := s.store.GetInstance(context.Background(), spec.SOPInstanceUID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(inst.Metadata, "Version^3") {
			t.Errorf("kept metadata is not the last version's: %.2000s", inst.Metadata)
		}
		if keys := s.blobFiles(t); len(keys) != 1 || keys[0] != inst.BlobKey {
			t.Errorf("blobs %q, want only %q", keys, inst.BlobKey)
		}
	})
}
