package dispatch

import (
	"context"
	"strings"
	"time"

	"dalaba/controller/inventory"
	"dalaba/controller/receipts"
)

// record stores the broadcast with a receipt per target before anything is published, so every
// receipt that comes back has a row to land on. A terminal offline now is recorded as offline.
func (d *Dispatcher) record(ctx context.Context, req Request, res inventory.Resolution, prog program) (receipts.Broadcast, error) {
	id := req.ID
	if id == "" {
		var err error
		if id, err = newID(); err != nil {
			return receipts.Broadcast{}, err
		}
	}
	now := time.Now()
	addrs := make([]string, len(req.Targets))
	for i, a := range req.Targets {
		addrs[i] = a.String()
	}
	b := receipts.Broadcast{
		ID: id, Title: req.Title, Targets: strings.Join(addrs, ","), ProgramID: prog.ID,
		Priority: int32(req.Priority), CreatedAt: now, ValidUntil: now.Add(prog.Duration + req.ValidFor),
		ProgramBytes: prog.Bytes, ProgramDuration: prog.Duration, ProgramPeak: prog.peak,
		PlayAt:   now.Add(startLead(d.BaseLead, prog.Bytes, len(res.Terminals), req.LiveID != "")),
		Severity: int32(req.Severity), Repeat: req.Repeat, RepeatInterval: req.RepeatInterval, EndAt: req.EndAt,
		ForcedVolume: req.ForcedVolume, LiveID: req.LiveID,
	}
	if req.LiveID != "" {
		b.ProgramID = "live:" + req.LiveID
	}
	targets := make([]receipts.Target, len(res.Terminals))
	for i, t := range res.Terminals {
		targets[i] = receipts.Target{Terminal: t.ID, Village: t.VillageCode, Online: d.Presence.Get(t.ID).Online}
	}
	return b, d.Book.Open(ctx, b, targets)
}
