package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// transactions names the DICOMweb transaction of every DICOMweb and WADO-URI route, by method and
// route template: the one table the transaction label comes from. checkTransactions fails the
// start-up when a route is missing, so a new route cannot go unmeasured.
var transactions = map[string]string{
	"POST /dicomweb/studies":        "store",
	"POST /dicomweb/studies/:study": "store",

	"GET /dicomweb":                                                   "capabilities",
	"GET /dicomweb/studies":                                           "search_studies",
	"GET /dicomweb/series":                                            "search_series",
	"GET /dicomweb/studies/:study/series":                             "search_series",
	"GET /dicomweb/instances":                                         "search_instances",
	"GET /dicomweb/studies/:study/instances":                          "search_instances",
	"GET /dicomweb/studies/:study/series/:series/instances":           "search_instances",
	"GET /dicomweb/studies/:study":                                    "retrieve_instances",
	"GET /dicomweb/studies/:study/series/:series":                     "retrieve_instances",
	"GET /dicomweb/studies/:study/series/:series/instances/:instance": "retrieve_instances",

	"GET /dicomweb/studies/:study/metadata":                                          "retrieve_metadata",
	"GET /dicomweb/studies/:study/series/:series/metadata":                           "retrieve_metadata",
	"GET /dicomweb/studies/:study/series/:series/instances/:instance/metadata":       "retrieve_metadata",
	"GET /dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames": "retrieve_frames",
	"GET /dicomweb/studies/:study/series/:series/instances/:instance/bulkdata/*path": "retrieve_bulkdata",

	"GET /dicomweb/studies/:study/rendered":                                                    "retrieve_rendered",
	"GET /dicomweb/studies/:study/series/:series/rendered":                                     "retrieve_rendered",
	"GET /dicomweb/studies/:study/series/:series/instances/:instance/rendered":                 "retrieve_rendered",
	"GET /dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames/rendered":  "retrieve_rendered",
	"GET /dicomweb/studies/:study/thumbnail":                                                   "retrieve_thumbnail",
	"GET /dicomweb/studies/:study/series/:series/thumbnail":                                    "retrieve_thumbnail",
	"GET /dicomweb/studies/:study/series/:series/instances/:instance/thumbnail":                "retrieve_thumbnail",
	"GET /dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames/thumbnail": "retrieve_thumbnail",

	"DELETE /dicomweb/studies/:study":                                    "delete",
	"DELETE /dicomweb/studies/:study/series/:series":                     "delete",
	"DELETE /dicomweb/studies/:study/series/:series/instances/:instance": "delete",

	"GET /wado": "wado_uri",
}

// checkTransactions reports the DICOMweb and WADO-URI routes that transactions does not name.
func checkTransactions(r *gin.Engine) error {
	var missing []string
	for _, ri := range r.Routes() {
		if !strings.HasPrefix(ri.Path, "/dicomweb") && ri.Path != "/wado" {
			continue
		}
		if _, ok := transactions[ri.Method+" "+ri.Path]; !ok {
			missing = append(missing, ri.Method+" "+ri.Path)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("routes without a DICOMweb transaction for their metrics: %s", strings.Join(missing, ", "))
	}
	return nil
}

// dicomwebMetrics are the request metrics of every DICOMweb transaction: a handful of series per
// transaction an operator can read without knowing the route templates.
type dicomwebMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
}

func newDICOMwebMetrics(reg prometheus.Registerer) (*dicomwebMetrics, error) {
	m := &dicomwebMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medimg_dicomweb_requests_total",
			Help: "DICOMweb requests by transaction and status code.",
		}, []string{"transaction", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "medimg_dicomweb_request_duration_seconds",
			Help:    "DICOMweb request duration by transaction, until the last byte of the response is written.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"transaction"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medimg_dicomweb_response_bytes_total",
			Help: "Bytes of DICOMweb response bodies by transaction.",
		}, []string{"transaction"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.bytes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register DICOMweb metrics: %w", err)
		}
	}
	// Every transaction has its series from the start, so that a rate is 0 rather than absent.
	for _, tx := range transactions {
		m.duration.WithLabelValues(tx)
		m.bytes.WithLabelValues(tx)
	}
	return m, nil
}

// observe records a finished request of the route template route; other routes are ignored.
func (m *dicomwebMetrics) observe(c *gin.Context, route string, seconds float64) {
	tx, ok := transactions[c.Request.Method+" "+route]
	if !ok {
		return
	}
	m.requests.WithLabelValues(tx, strconv.Itoa(c.Writer.Status())).Inc()
	m.duration.WithLabelValues(tx).Observe(seconds)
	if n := c.Writer.Size(); n > 0 {
		m.bytes.WithLabelValues(tx).Add(float64(n))
	}
}

// queryMetrics times the database calls of queries.Store, labelled by the generated query's name
// (a few dozen) or, for SQL built at run time (QIDO), its first keyword.
type queryMetrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

func newQueryMetrics() *queryMetrics {
	m := &queryMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "medimg_db_query_duration_seconds",
			Help:    "Time of database calls, by query: the generated query's name, the first keyword of run-time SQL (QIDO), or begin/commit/rollback.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"query"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medimg_db_query_errors_total",
			Help: "Database calls that failed, by query (as medimg_db_query_duration_seconds).",
		}, []string{"query"}),
	}
	// Exported at 0 from the start, so that a rate over them is 0 rather than no data.
	for _, q := range []string{"begin", "commit", "rollback"} {
		m.errors.WithLabelValues(q)
	}
	return m
}

func (m *queryMetrics) observe(query string, d time.Duration, err error) {
	m.duration.WithLabelValues(query).Observe(d.Seconds())
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, sql.ErrNoRows) {
		m.errors.WithLabelValues(query).Inc()
	}
}

// poolStats is what poolCollector reads: queries.Store.PoolStats.
type poolStats func() (read, write sql.DBStats)

// poolCollector exports the database connection pools, read at scrape time. On PostgreSQL the
// readers and the writer share one pool, exported once as pool="shared" so that sums stay right.
type poolCollector struct {
	stats  poolStats
	shared bool

	open, inUse, idle, max, waits, waitSeconds, idleClosed *prometheus.Desc
}

func newPoolCollector(stats poolStats, shared bool) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("medimg_db_"+name, help, []string{"pool"}, nil)
	}
	return &poolCollector{stats: stats, shared: shared,
		open:        d("connections_open", "Open database connections, by pool (read, write; shared on PostgreSQL)."),
		inUse:       d("connections_in_use", "Database connections in use, by pool."),
		idle:        d("connections_idle", "Idle database connections, by pool."),
		max:         d("connections_max", "Maximum open database connections, by pool."),
		waits:       d("wait_total", "Waits for a free database connection, by pool."),
		waitSeconds: d("wait_seconds_total", "Time spent waiting for a free database connection, by pool."),
		idleClosed:  d("connections_closed_idle_total", "Connections closed on release because the pool keeps fewer idle: each is reopened, statements and all, by a later request."),
	}
}

// Describe sends every descriptor.
func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{p.open, p.inUse, p.idle, p.max, p.waits, p.waitSeconds, p.idleClosed} {
		ch <- d
	}
}

// Collect reads the pools now.
func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	read, write := p.stats()
	pools := map[string]sql.DBStats{"read": read, "write": write}
	if p.shared {
		pools = map[string]sql.DBStats{"shared": write}
	}
	for name, s := range pools {
		g := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, name)
		}
		g(p.open, float64(s.OpenConnections))
		g(p.inUse, float64(s.InUse))
		g(p.idle, float64(s.Idle))
		g(p.max, float64(s.MaxOpenConnections))
		ch <- prometheus.MustNewConstMetric(p.waits, prometheus.CounterValue, float64(s.WaitCount), name)
		ch <- prometheus.MustNewConstMetric(p.waitSeconds, prometheus.CounterValue, s.WaitDuration.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(p.idleClosed, prometheus.CounterValue, float64(s.MaxIdleClosed), name)
	}
}
