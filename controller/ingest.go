package controller

import (
	"log/slog"
	"sync"

	"google.golang.org/protobuf/proto"

	"dalaba/controller/broker"
	"dalaba/controller/presence"
	"dalaba/controller/receipts"
	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// ingest takes what terminals publish: receipts and presence. Anything malformed, from an
// unknown terminal, or about an unknown broadcast is rejected, counted and logged, never stored.
type ingest struct {
	book     *receipts.Book
	presence *presence.Tracker
	log      *slog.Logger

	mu       sync.Mutex
	rejected map[string]int64 // by kind of report
}

func (in *ingest) subscribe(bus broker.Bus) error {
	if err := bus.Subscribe(wire.StatusFilter, 1, in.status); err != nil {
		return err
	}
	return bus.Subscribe(wire.ReceiptFilter, 1, in.receipt)
}

func (in *ingest) status(topic string, payload []byte) {
	from := wire.TerminalFromTopic(topic)
	var st dalabapb.Status
	err := proto.Unmarshal(payload, &st)
	if err == nil {
		err = in.presence.Apply(from, &st)
	}
	if err != nil {
		in.reject("status", from, err)
	}
}

func (in *ingest) receipt(topic string, payload []byte) {
	from := wire.TerminalFromTopic(topic)
	var r dalabapb.Receipt
	err := proto.Unmarshal(payload, &r)
	if err == nil {
		err = in.book.Apply(&r, from)
	}
	if err != nil {
		in.reject("receipt", from, err)
		return
	}
	in.presence.Touch(from) // a receipt is a sign of life too
}

func (in *ingest) reject(kind, from string, err error) {
	in.mu.Lock()
	if in.rejected == nil {
		in.rejected = map[string]int64{}
	}
	in.rejected[kind]++
	in.mu.Unlock()
	in.log.Warn("rejected report", "kind", kind, "terminal", from, "err", err)
}

// Rejected counts refused reports by kind.
func (in *ingest) Rejected() map[string]int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[string]int64, len(in.rejected))
	for k, v := range in.rejected {
		out[k] = v
	}
	return out
}
