// Package agent is the terminal agent: the software on one village loudspeaker. It keeps an MQTT
// session with the controller's broker, fetches program audio over gRPC, plays it through its
// sink and reports a receipt for every step.
package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"google.golang.org/grpc"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
	"dalaba/terminal-agent/live"
	"dalaba/terminal-agent/sink"
)

// Version is reported in the terminal's status.
const Version = "0.1.0"

// Options configure one terminal agent.
type Options struct {
	TerminalID string
	GroupCode  string // 15-digit group code; the village and town codes are its prefixes
	BrokerURL  string // tls://host:port of the MQTT broker (tcp:// for a lab controller)
	GRPCAddr   string // host:port of the controller's audio service
	// TLS trusts the controller's CA (provision.ClientTLS) for a tls:// broker and the audio
	// service; nil dials the audio service in plain (a lab controller, --insecure-plaintext).
	TLS *tls.Config
	// Token is the terminal's credential (ebctl terminals provision): its MQTT password and
	// the token of every audio call. Empty only for a lab broker (--insecure-open-broker).
	Token string
	// ControllerKeys verify the controller's signature on every command; the agent acts on
	// nothing else (ReadControllerKeys reads the controller's signing.pub). Required.
	ControllerKeys []ed25519.PublicKey
	// StateDir keeps what must survive a restart: the highest command sequence number
	// accepted, so that a restarted terminal refuses replays of what it already took. Empty:
	// kept in memory only.
	StateDir string
	Sink     sink.Sink
	// AudioConn lets many simulated agents share one gRPC connection; nil dials GRPCAddr.
	AudioConn grpc.ClientConnInterface
	// Volume is the output volume at start, in percent; 0 means the default, 100.
	Volume int32
	Logger *slog.Logger
	// Heartbeat is how often the terminal sends its telemetry; 0 means 30 s. The controller
	// marks it offline after two periods of silence.
	Heartbeat time.Duration
	// Health reads the hardware for faults; nil means faults are not monitored (none reported).
	Health HealthSource
	// HealthPoll is how often Health is read; 0 means 5 s.
	HealthPoll time.Duration

	// Live plays live shouts (commands with a live_id); nil means the built-in one
	// (terminal-agent/live), listening on the audio connection and playing through Sink.
	Live LivePlayer
	// ClockBurst, ClockFill and ClockProbeEvery tune the controller-clock estimate (package
	// clock): probes at start, then one every ClockFill until its window is full, then one every
	// ClockProbeEvery; zero takes 20, ClockProbeEvery/4 and 1 s.
	ClockBurst      int
	ClockFill       time.Duration
	ClockProbeEvery time.Duration
	// ClockOffset is a test affordance: it shifts the agent's whole notion of now (receipt
	// and report times, expiry, play-at instants, clock probes) as if its clock were that far
	// off, so tests and the fleet simulator can show terminals with bad clocks start together.
	ClockOffset time.Duration
}

var (
	terminalIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	groupPattern      = regexp.MustCompile(`^[0-9]{15}$`)
)

// addresses are the four tier addresses this terminal answers to.
func (o Options) addresses() []wire.Address {
	return []wire.Address{
		{Tier: wire.TierTown, Code: o.GroupCode[:9]},
		{Tier: wire.TierVillage, Code: o.GroupCode[:12]},
		{Tier: wire.TierGroup, Code: o.GroupCode},
		{Tier: wire.TierTerminal, Code: o.TerminalID},
	}
}

func (o *Options) check() error {
	switch {
	case !terminalIDPattern.MatchString(o.TerminalID):
		return fmt.Errorf("terminal id %q: want 1-64 letters, digits, '-' or '_'", o.TerminalID)
	case !groupPattern.MatchString(o.GroupCode):
		return fmt.Errorf("group code %q: want the 15-digit group code (village code + 3 digits)", o.GroupCode)
	case o.BrokerURL == "":
		return fmt.Errorf("no broker URL")
	case o.GRPCAddr == "" && o.AudioConn == nil:
		return fmt.Errorf("no audio service address")
	case o.Sink == nil:
		return fmt.Errorf("no audio sink")
	case len(o.ControllerKeys) == 0:
		return fmt.Errorf("no controller key: commands could not be verified (give the controller's signing.pub)")
	}
	if o.Volume == 0 {
		o.Volume = 100
	}
	if o.Volume < 0 || o.Volume > 100 {
		return fmt.Errorf("volume %d: want 1 to 100", o.Volume)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := o.checkHealth(); err != nil {
		return err
	}
	if o.ClockBurst < 0 || o.ClockFill < 0 || o.ClockProbeEvery < 0 {
		return fmt.Errorf("clock probes: burst %d, fill every %v, every %v: want zero (the default) or more",
			o.ClockBurst, o.ClockFill, o.ClockProbeEvery)
	}
	o.Logger = o.Logger.With("terminal", o.TerminalID)
	return nil
}

// Run runs the agent until ctx ends. It does not close opts.Sink.
func Run(ctx context.Context, opts Options) error {
	if err := opts.check(); err != nil {
		return fmt.Errorf("terminal agent: %w", err)
	}
	conn := opts.AudioConn
	if conn == nil {
		dial := append([]grpc.DialOption{opts.TransportCredentials()}, live.DialOptions()...)
		cc, err := grpc.NewClient(opts.GRPCAddr, dial...)
		if err != nil {
			return fmt.Errorf("audio service %s: %w", opts.GRPCAddr, err)
		}
		defer cc.Close()
		conn = cc
	}
	conn = WithToken(conn, opts.TerminalID, opts.Token)
	vol, err := newLevel(opts.Volume)
	if err != nil {
		return err
	}
	busy := new(activity)
	opts.Sink = busy.track(opts.Sink) // the heartbeat says playing while the sink plays
	now := opts.now()
	est := newEstimator(conn, opts, now)
	var probing sync.WaitGroup
	probing.Add(1)
	go func() { defer probing.Done(); est.Run(ctx) }()
	defer probing.Wait()
	s := newSession(opts, now)
	if s.intake, err = newIntake(opts.ControllerKeys, opts.StateDir, est.ControllerNow, s.rejected, opts.Logger); err != nil {
		return fmt.Errorf("terminal agent: %w", err)
	}
	f := &fetcher{audio: dalabapb.NewAudioServiceClient(conn), terminalID: opts.TerminalID, clock: est, now: now}
	if opts.Live == nil {
		// live schedules frames on this process's real clock: the estimate, less any
		// simulated offset.
		off := opts.ClockOffset
		toReal := func(t time.Time) time.Time { return est.ToLocal(t).Add(-off) }
		opts.Live = live.New(conn, opts.Sink, opts.TerminalID, toReal, opts.Logger)
	}
	p := newPlayer(opts, s.receipt, vol, est, now, f.fetch)
	m := newManager(ctx, opts, s, vol, busy)
	go p.run(ctx)
	if err := s.connect(ctx, opts, p.enqueue); err != nil {
		return err
	}
	m.start(ctx)
	<-ctx.Done()
	p.wait() // the last receipt (interrupted) goes out before the goodbye
	m.wait()
	s.close(500 * time.Millisecond)
	return nil
}
