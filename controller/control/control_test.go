package control

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// fakeBus hands every command sent to answer, which plays the terminal.
type fakeBus struct {
	answer func(topic string, qos byte, cmd *dalabapb.ControlCommand)
}

func (b *fakeBus) Send(to wire.Address, cmd *dalabapb.Command, qos byte) error {
	go b.answer(wire.CommandTopic(to), qos, cmd.GetControl())
	return nil
}

func newRemote(answer func(rm *Remote, topic string, qos byte, cmd *dalabapb.ControlCommand)) *Remote {
	bus := &fakeBus{}
	rm := New(bus, func(id string) bool { return id != "nope" }, func(id string) bool { return id != "away" },
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	bus.answer = func(topic string, qos byte, cmd *dalabapb.ControlCommand) { answer(rm, topic, qos, cmd) }
	return rm
}

func reply(rm *Remote, from string, r *dalabapb.ControlReply) error {
	b, _ := proto.Marshal(r)
	return rm.Deliver(from, b)
}

func TestSendMatchesTheReplyByRequestID(t *testing.T) {
	rm := newRemote(func(rm *Remote, topic string, qos byte, cmd *dalabapb.ControlCommand) {
		if topic != "dalaba/v1/cmd/terminal/t1" || qos != 0 || cmd.GetRequestId() == "" {
			panic("published on " + topic)
		}
		// A reply to someone else's request first: refused, and it does not answer ours.
		if reply(rm, "t1", &dalabapb.ControlReply{TerminalId: "t1", RequestId: "other", Ok: true}) == nil {
			panic("a reply nobody waits for was taken")
		}
		time.Sleep(20 * time.Millisecond)
		reply(rm, "t1", &dalabapb.ControlReply{TerminalId: "t1", RequestId: cmd.GetRequestId(), Ok: true,
			Volume: cmd.GetSetVolume().GetVolume(), AtUnixMs: time.Now().UnixMilli()})
	})
	res, err := rm.Send(context.Background(), "t1", SetVolume(35))
	if err != nil || res.Reply.GetVolume() != 35 || res.RoundTrip() < 20*time.Millisecond {
		t.Fatalf("Send: %+v, %v", res.Reply, err)
	}
	// The answered request is forgotten: a duplicate of the reply is refused.
	if err := reply(rm, "t1", res.Reply); err == nil {
		t.Fatal("a duplicate reply was taken")
	}
}

func TestSendRefusesBeforePublishing(t *testing.T) {
	rm := newRemote(func(*Remote, string, byte, *dalabapb.ControlCommand) { panic("published") })
	var in *InputError
	for _, tc := range []struct {
		id   string
		cmd  *dalabapb.ControlCommand
		want func(error) bool
	}{
		{"t1", SetVolume(101), func(err error) bool { return errors.As(err, &in) && in.Field == "volume" }},
		{"t1", SetVolume(-1), func(err error) bool { return errors.As(err, &in) && in.Message != "" }},
		{"t1", SelfTest(8000, 0, 0), func(err error) bool { return errors.As(err, &in) && in.Field == "tone_hz" }},
		{"t1", SelfTest(0, 60_000, 0), func(err error) bool { return errors.As(err, &in) && in.Field == "duration_ms" }},
		{"t1", SelfTest(0, 0, 1.5), func(err error) bool { return errors.As(err, &in) && in.Field == "level" }},
		{"t1", &dalabapb.ControlCommand{}, func(err error) bool { return errors.As(err, &in) && in.Field == "op" }},
		{"nope", SetVolume(50), func(err error) bool { return errors.Is(err, ErrUnknownTerminal) }},
		{"away", ClockCheck(), func(err error) bool { return errors.Is(err, ErrOffline) }},
	} {
		if _, err := rm.Send(context.Background(), tc.id, tc.cmd); !tc.want(err) {
			t.Errorf("%s %v: err %v", tc.id, tc.cmd, err)
		}
	}
}

func TestSendTimesOutAndReportsTerminalFailure(t *testing.T) {
	rm := newRemote(func(rm *Remote, _ string, _ byte, cmd *dalabapb.ControlCommand) {
		if cmd.GetSelfTest() != nil {
			reply(rm, "t1", &dalabapb.ControlReply{TerminalId: "t1", RequestId: cmd.GetRequestId(), Error: "audio device failure"})
		} // anything else: silence
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := rm.Send(ctx, "t1", ClockCheck()); !errors.Is(err, ErrTimeout) {
		t.Fatalf("unanswered: %v, want ErrTimeout", err)
	}
	var te *TerminalError
	res, err := rm.Send(context.Background(), "t1", SelfTest(0, 0, 0))
	if !errors.As(err, &te) || te.Message != "audio device failure" || res.Reply == nil {
		t.Fatalf("failed self-test: %+v, %v", res, err)
	}
}

func TestClockOffsetFromTheMiddleOfTheRoundTrip(t *testing.T) {
	sent := time.UnixMilli(1_000_000)
	r := Result{Sent: sent, Received: sent.Add(40 * time.Millisecond),
		Reply: &dalabapb.ControlReply{AtUnixMs: sent.Add(20*time.Millisecond + 1500*time.Millisecond).UnixMilli()}}
	if got := r.ClockOffset(); got != 1500*time.Millisecond {
		t.Fatalf("offset %v, want 1.5 s", got)
	}
}

func TestDeliverRefusesMalformed(t *testing.T) {
	rm := newRemote(func(*Remote, string, byte, *dalabapb.ControlCommand) {})
	if err := rm.Deliver("t1", []byte{0xff, 0x01}); err == nil {
		t.Error("garbage taken")
	}
	if err := reply(rm, "t1", &dalabapb.ControlReply{TerminalId: "t2", RequestId: "x"}); err == nil {
		t.Error("a reply for t2 on t1's topic taken")
	}
	if err := reply(rm, "t1", &dalabapb.ControlReply{TerminalId: "t1"}); err == nil {
		t.Error("a reply without a request id taken")
	}
}
