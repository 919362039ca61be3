package controller

import (
	"log/slog"
	"sync/atomic"

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
	rejected atomic.Int64
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
	}
}

func (in *ingest) reject(kind, from string, err error) {
	in.rejected.Add(1)
	in.log.Warn("rejected report", "kind", kind, "terminal", from, "err", err)
}
