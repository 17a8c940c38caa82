package dicomweb_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb"
)

// A search can never reach a database limit: past the documented limits it is a 400 naming the
// limit, and up to them the database answers.
func TestSearchLimits(t *testing.T) {
	uids := func(n, from int) string {
		list := make([]string, n)
		for i := range list {
			list[i] = fmt.Sprintf("1.2.826.0.1.3680043.10.%d", from+i)
		}
		return strings.Join(list, ",")
	}
	params := func(n, uidsEach int) string {
		var q []string
		for i := range n {
			q = append(q, "SOPInstanceUID="+uids(uidsEach, i*uidsEach+1))
		}
		return strings.Join(q, "&")
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		s := newServer(t, engine, dicomweb.Config{})
		tests := []struct {
			name, query string
			status      int
			message     string
		}{
			{"5000_uids_in_one_parameter", "SOPInstanceUID=" + uids(5000, 1), 400, "at most 1000"},
			{"2000_parameters", params(2000, 1), 400, "at most 100"},
			{"1000_uids_in_one_parameter", "SOPInstanceUID=" + uids(1000, 1), 204, ""},
			{"100_parameters_of_10_uids", params(100, 10), 204, ""},
			{"101_parameters_of_10_uids", params(101, 10), 400, "at most 100"},
			{"2_parameters_of_1000_uids", "SOPInstanceUID=" + uids(1000, 1) + "&SOPInstanceUID=" + uids(1000, 1001), 400, "at most 1000"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := s.get(t, "/dicomweb/instances?"+tt.query)
				if r.status != tt.status || !strings.Contains(string(r.body), tt.message) {
					t.Errorf("%d %s, want %d naming %q", r.status, r.body, tt.status, tt.message)
				}
				if tt.status == http.StatusBadRequest && !strings.Contains(string(r.body), `"code":"bad_request"`) {
					t.Errorf("body %s is not the JSON error body", r.body)
				}
			})
		}
	})
}
