// Package dicomweb is the DICOMweb HTTP surface (PS3.18): the route table, the transactions, and the
// mapping of their errors. Handlers are thin: they parse the request, call a plain function and write
// the answer; the work on DICOM objects lives in the pure sub-packages (ingest, dcmjson, multipart).
package dicomweb

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/storage"
)

// Duplicate policies for an instance whose SOP Instance UID is already stored.
const (
	OnDuplicateReject    = "reject"
	OnDuplicateOverwrite = "overwrite"
)

// Config is what the DICOMweb surface needs from the command line.
type Config struct {
	// PublicURL, when set, is the base of absolute URLs in responses (e.g. https://pacs.example.org);
	// otherwise they are built from the request's scheme and Host.
	PublicURL string
	// MaxUploadBytes limits the body of one STOW request; 0 means no limit.
	MaxUploadBytes int64
	// OnDuplicate is OnDuplicateReject or OnDuplicateOverwrite.
	OnDuplicate string
	// InlineBinaryMax is the largest binary value kept inline in metadata (larger ones become bulk data).
	InlineBinaryMax int
	// TempDir is where STOW-RS inflates a deflated part's dataset while reading it (a file removed
	// at once); empty means os.TempDir().
	TempDir string
	// CaseSensitiveSearch makes QIDO-RS match text exactly as stored; by default text is matched
	// ignoring case (person names, IDs, descriptions).
	CaseSensitiveSearch bool
}

// Service serves DICOMweb over the metadata store and the blob store.
type Service struct {
	cfg     Config
	store   *queries.Store
	blobs   storage.Store
	log     *slog.Logger
	metrics *metrics
	// rendered caches /rendered and /thumbnail images.
	rendered *renderCache
	// formats keeps the pixel attributes of recently rendered instances, so that another frame or
	// window of the same instance neither reads nor parses its metadata again.
	formats *formatCache
	// renderSlots bounds the frames decoded and rendered at once (each holds a frame and an image
	// in memory): one per CPU, as rendering is CPU-bound. A slot keeps its frame buffer for the
	// next frame.
	renderSlots chan *renderSlot
}

// New returns the DICOMweb service; its metrics are registered on reg.
func New(cfg Config, store *queries.Store, blobs storage.Store, log *slog.Logger, reg prometheus.Registerer) (*Service, error) {
	switch cfg.OnDuplicate {
	case "":
		cfg.OnDuplicate = OnDuplicateReject
	case OnDuplicateReject, OnDuplicateOverwrite:
	default:
		return nil, fmt.Errorf("dicomweb: on-duplicate %q: want %s or %s", cfg.OnDuplicate, OnDuplicateReject, OnDuplicateOverwrite)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	slots := make(chan *renderSlot, runtime.NumCPU())
	for range cap(slots) {
		slots <- &renderSlot{}
	}
	return &Service{cfg: cfg, store: store, blobs: blobs, log: log, metrics: m, rendered: newRenderCache(64 << 20),
		formats:     newFormatCache(4096),
		renderSlots: slots}, nil
}

// metrics are the DICOMweb-specific series; HTTP request metrics are the router's.
type metrics struct {
	stowInstances *prometheus.CounterVec
	stowBytes     prometheus.Counter
	renderCache   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		stowInstances: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medimg_stow_instances_total",
			Help: "Instances received by STOW-RS, by result (stored, failed) and reason (stored, or the Failure Reason: " + strings.Join(reasonNames, ", ") + ").",
		}, []string{"result", "reason"}),
		stowBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "medimg_stow_bytes_total",
			Help: "Bytes of DICOM objects stored by STOW-RS.",
		}),
		renderCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medimg_render_cache_requests_total",
			Help: "Lookups in the cache of rendered images and thumbnails, by result (hit, miss).",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.stowInstances, m.stowBytes, m.renderCache} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("dicomweb: register metrics: %w", err)
		}
	}
	// Every bounded label value exists from the start, so that a rate is 0 rather than absent.
	m.stowInstances.WithLabelValues("stored", "stored")
	for _, r := range reasonNames {
		m.stowInstances.WithLabelValues("failed", r)
	}
	m.renderCache.WithLabelValues("hit")
	m.renderCache.WithLabelValues("miss")
	return m, nil
}
