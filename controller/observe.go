package controller

import (
	"context"
	"time"

	"dalaba/controller/inventory"
	"dalaba/controller/metrics"
	"dalaba/controller/presence"
	"dalaba/controller/receipts"
	"dalaba/controller/store"
)

// newMetrics connects the Prometheus metrics to the controller's live state.
func newMetrics(inv func() *inventory.Inventory, tracker *presence.Tracker, db *store.DB, in *ingest, book *receipts.Book, faults func() map[string]int, refused func() map[[2]string]int64) *metrics.Metrics {
	m := metrics.New(metrics.Source{
		OnlineByVillage: func() map[string][2]int {
			out := map[string][2]int{}
			for _, t := range inv().Terminals() {
				n := out[t.VillageCode]
				n[1]++
				if tracker.Get(t.ID).Online {
					n[0]++
				}
				out[t.VillageCode] = n
			}
			return out
		},
		BroadcastsByState: func() map[string]int {
			out := map[string]int{receipts.StateActive: 0, receipts.StateFinished: 0}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			rows, err := db.QueryContext(ctx, `SELECT state, COUNT(*) FROM broadcasts GROUP BY state`)
			if err != nil {
				return out
			}
			defer rows.Close()
			for rows.Next() {
				var st string
				var n int
				if rows.Scan(&st, &n) == nil {
					out[st] = n
				}
			}
			return out
		},
		Rejected:      in.Rejected,
		ActiveFaults:  faults,
		AccessRefused: refused,
	})
	book.Observe(func(s receipts.State, since time.Duration) { m.ObserveReceipt(string(s), since) })
	return m
}
