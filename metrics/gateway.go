package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/websockify-go/websockify/gateway"
)

// Source is what the metrics read from a gateway at scrape time:
// *gateway.Server.
type Source interface {
	Totals() gateway.Totals
	PendingShed() uint64
}

// Watch adds the figures read from src at each scrape: the open sessions by
// driver, the payload bytes each way, and the pending connections shed.
func (m *Metrics) Watch(src Source) {
	m.reg.MustRegister(&sourceCollector{src: src})
}

var (
	openDesc = prometheus.NewDesc(namespace+"_sessions_open",
		"WebSocket sessions open now, by driver (none: upgraded, target not connected yet).", []string{"driver"}, nil)
	bytesDesc = prometheus.NewDesc(namespace+"_bytes_total",
		"Payload bytes relayed, by direction: from_client (to the target) and to_client (from the target).", []string{"direction"}, nil)
	shedDesc = prometheus.NewDesc(namespace+"_handshakes_shed_total",
		"Connections dropped before their handshake completed because too many were pending (the oldest of a client first).", nil, nil)
)

// sourceCollector reads a gateway's totals when scraped.
type sourceCollector struct{ src Source }

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- openDesc
	ch <- bytesDesc
	ch <- shedDesc
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	t := c.src.Totals()
	for _, d := range []string{gateway.DriverEpoll, gateway.DriverGoroutines, gateway.DriverNone} {
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(t.Open[d]), d)
	}
	ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.CounterValue, float64(t.FromClient), "from_client")
	ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.CounterValue, float64(t.ToClient), "to_client")
	ch <- prometheus.MustNewConstMetric(shedDesc, prometheus.CounterValue, float64(c.src.PendingShed()))
}
