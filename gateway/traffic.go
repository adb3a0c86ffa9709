package gateway

import (
	"io"
	"sync"
)

// TrafficLegend is printed at the start of every session with --traffic,
// as the reference does.
const TrafficLegend = `
Traffic Legend:
    }  - Client receive
    }. - Client receive partial
    {  - Target receive

    >  - Target send
    >. - Target send partial
    <  - Client send
    <. - Client send partial
`

// traffic writes the reference's per-frame characters. A nil *traffic does
// nothing, so the relay calls it unconditionally.
type traffic struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *traffic) legend() { t.put(TrafficLegend) }

// Trace writes one of the characters for core.
func (t *traffic) Trace(s string) { t.put(s) }

func (t *traffic) put(s string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	io.WriteString(t.w, s)
	t.mu.Unlock()
}
