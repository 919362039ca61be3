// Package dispatch is the path of a broadcast, one stage per file:
//
//	validate -> resolve targets -> prepare audio -> record -> publish
//
// Receipts then flow back through the receipts book.
package dispatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"dalaba/controller/audio"
	"dalaba/controller/inventory"
	"dalaba/controller/presence"
	"dalaba/controller/receipts"
	"dalaba/proto/dalabapb"
	"dalaba/proto/priority"
	"dalaba/proto/wire"
)

// Request is a broadcast as staff ask for it.
type Request struct {
	// ID, when set, makes the broadcast idempotent: a schedule slot fired again after a crash
	// names the same id and is not sent twice. Empty: a new time-ordered id.
	ID       string
	Title    string
	Targets  []wire.Address
	Audio    io.Reader     // WAV as uploaded, or
	PCM      []byte        // audio already in the system format (synthesized speech)
	Source   string        // what PCM was made from, for the program record
	ValidFor time.Duration // how long after sending a terminal may still start it; 0 = default

	// Priority places it on the ladder (proto/priority); 0 means routine.
	Priority priority.Level
	// Emergency fields: severity (1 red .. 4 blue), plays in all with silence between, an end
	// time that stops it even mid-play, and a volume every terminal must play it at.
	Severity       priority.Severity
	Repeat         int32
	RepeatInterval time.Duration
	EndAt          time.Time
	ForcedVolume   int32
	// LiveID makes it a live shout: terminals listen to that stream instead of fetching audio.
	LiveID string
}

// Limits on what staff may send.
const (
	MaxTitleRunes   = 200
	MaxAudioBytes   = 64 << 20 // about 6 minutes of 48 kHz stereo
	DefaultValidFor = 10 * time.Minute
	MaxValidFor     = 24 * time.Hour
	MaxRepeat       = 20
	MaxInterval     = 10 * time.Minute
)

// Dispatcher sends broadcasts.
type Dispatcher struct {
	Inventory func() *inventory.Inventory
	Programs  *audio.Programs
	Book      *receipts.Book
	Presence  *presence.Tracker
	Commands  Sender // signs and publishes commands (controller/commands)
	Log       *slog.Logger
	// BaseLead is the least time from sending a program to its synchronised start (lead.go);
	// zero: DefaultBaseLead.
	BaseLead time.Duration
}

// Sender publishes a command, signed, on the command topic of an address.
type Sender interface {
	Send(to wire.Address, cmd *dalabapb.Command, qos byte) error
}

// Broadcast runs the whole pipeline and returns the new broadcast's id once the command is
// with the broker. Nothing is recorded unless targets and audio are valid.
func (d *Dispatcher) Broadcast(ctx context.Context, req Request) (string, error) {
	if err := validate(&req); err != nil {
		return "", err
	}
	if sent, err := d.alreadySent(ctx, req.ID); sent || err != nil {
		return req.ID, err
	}
	res, err := d.resolve(req.Targets)
	if err != nil {
		return "", err
	}
	prog, err := d.prepareAudio(ctx, req)
	if err != nil {
		return "", err
	}
	b, err := d.record(ctx, req, res, prog)
	if err != nil {
		return "", err
	}
	if err := d.publish(b, res.Topics); err != nil {
		return b.ID, err
	}
	d.Log.Info("broadcast sent", "broadcast", b.ID, "targets", b.Targets, "terminals", len(res.Terminals),
		"topics", len(res.Topics), "program", prog.ID)
	return b.ID, nil
}

func newID() (string, error) {
	id, err := uuid.NewV7() // time-ordered: ids sort by sending time
	if err != nil {
		return "", fmt.Errorf("new broadcast id: %w", err)
	}
	return id.String(), nil
}
