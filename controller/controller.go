// Package controller is the township controller: it imports the terminal inventory, runs (or
// joins) the MQTT broker, serves program audio over gRPC and the HTTP API, sends broadcasts and
// collects receipts. Run is the whole program; Start is the same for tests that need addresses.
package controller

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"dalaba/controller/api"
	"dalaba/controller/audio"
	"dalaba/controller/broker"
	"dalaba/controller/cascade"
	"dalaba/controller/commands"
	"dalaba/controller/control"
	"dalaba/controller/dispatch"
	"dalaba/controller/health"
	"dalaba/controller/inventory"
	"dalaba/controller/limits"
	"dalaba/controller/live"
	"dalaba/controller/metrics"
	"dalaba/controller/presence"
	"dalaba/controller/receipts"
	"dalaba/controller/review"
	"dalaba/controller/schedule"
	"dalaba/controller/store"
	"dalaba/controller/tts"
	"dalaba/proto/dalabapb"
)

// Options configure a controller. Zero values take the defaults shown.
type Options struct {
	HTTPAddr  string // 127.0.0.1:8080
	MQTTAddr  string // 127.0.0.1:1883, where the embedded broker listens
	GRPCAddr  string // 127.0.0.1:7700
	DataDir   string // ./data
	SiteCSV   string // inventory to import at start; empty keeps the stored one
	BrokerURL string // external broker; empty runs the embedded one
	Logger    *slog.Logger

	VoicesDir string // text-to-speech voices (*.yaml): ./tts-voices

	// Schedules (package schedule).
	SchedulesDir string // schedule files (*.yaml), re-read by Reload: ./schedules
	TimeZone     string // of schedules that name none: Asia/Shanghai

	// Staff and review (package review).
	AdminPassword      string        // the first admin's, on a store without users; empty: generated and logged once
	SensitiveTermsFile string        // terms for the secrecy check, one a line; empty: review.DefaultTerms
	SessionTTL         time.Duration // how long a login lasts; 12 h

	Limits limits.Config // request rates and body sizes of the API (package limits); zero: the defaults

	// Terminal security (security.go). By default MQTT and gRPC are served over TLS with the
	// controller's own CA (<data>/ca.pem) and every terminal needs its own token.
	TLSHosts     []string // extra host names or IPs for the server certificate
	BrokerCA     string   // CA file to trust a tls:// external broker by; empty: the system's
	Plaintext    bool     // lab only: MQTT and gRPC without TLS
	OpenBroker   bool     // lab only: the embedded broker without terminal credentials or ACL
	ProvisionDir string   // demo and tests: provision every terminal at start, a bundle each here
	// LiveDelay is from a live frame's arrival to its play time (live.DefaultDelay if zero): the
	// jitter a shout absorbs, and the least mouth-to-horn latency.
	LiveDelay time.Duration
	// StartLead is the least time from sending a program to the instant every terminal starts
	// it (dispatch.DefaultBaseLead if zero); the program's fetch time is added to it.
	StartLead time.Duration

	CascadeConfig string // cascade with upper and lower platforms (package cascade); empty: none
}

func (o *Options) setDefaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&o.HTTPAddr, "127.0.0.1:8080")
	def(&o.MQTTAddr, "127.0.0.1:1883")
	def(&o.GRPCAddr, "127.0.0.1:7700")
	def(&o.DataDir, "./data")
	def(&o.SchedulesDir, "./schedules")
	def(&o.VoicesDir, "./tts-voices")
	def(&o.TimeZone, schedule.DefaultZone)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Controller is a running controller.
type Controller struct {
	HTTPAddr, MQTTAddr, GRPCAddr string

	Bus        broker.Bus // MQTT; commands to terminals go through Dispatcher and Remote, signed
	Book       *receipts.Book
	Dispatcher *dispatch.Dispatcher
	Presence   *presence.Tracker
	Metrics    *metrics.Metrics
	Health     *health.Board   // heartbeats and active faults
	Events     *health.Events  // fault, recovery and offline events
	Remote     *control.Remote // volume, clock check, self-test
	Review     *review.Service // staff, announcements, review, audit, public archive

	// Schedules plays approved announcements at set times (fireSlot).
	Schedules *schedule.Runner
	Live      *live.Hub        // live shouting: speakers' streams relayed to terminals
	TTS       *tts.Synthesizer // nil when no speech engine works here
	// Cascade takes emergencies from upper platforms and reports to them; nil without
	// Options.CascadeConfig. CascadeCertFile is the certificate they verify this one with.
	Cascade         *cascade.Service
	CascadeCertFile string

	// CommandKey verifies every command this controller sends; CommandKeyFile holds it in PEM
	// for terminals (terminal-agent --controller-key).
	CommandKey     ed25519.PublicKey
	CommandKeyFile string

	// CAFile is the CA certificate terminals trust the controller by (--ca); empty with
	// Options.Plaintext. ProvisionDir holds a provisioning bundle per terminal, <id>.json, when
	// Options.ProvisionDir was given.
	CAFile, ProvisionDir string
	// TerminalBroker is the broker URL terminals are given (tls:// for the embedded broker).
	TerminalBroker string

	sec *security

	log *slog.Logger

	inv  atomic.Pointer[inventory.Inventory]
	done chan error
}

// Inventory is the current terminal inventory.
func (c *Controller) Inventory() *inventory.Inventory { return c.inv.Load() }

// Run starts a controller and blocks until ctx ends or it fails.
func Run(ctx context.Context, opts Options) error {
	c, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	return c.Wait()
}

// Wait blocks until the controller has stopped.
func (c *Controller) Wait() error { return <-c.done }

// Start brings every part up and returns once the controller is serving.
func Start(ctx context.Context, opts Options) (*Controller, error) {
	opts.setDefaults()
	log := opts.Logger
	ctx, cancel := context.WithCancel(ctx)
	var closers []func()
	fail := func(err error) (*Controller, error) {
		cancel()
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		return nil, err
	}

	db, err := store.Open(opts.DataDir)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { db.Close() })
	c := &Controller{done: make(chan error, 1)}
	signer, pub, err := newSigner(opts.DataDir, log)
	if err != nil {
		return fail(err)
	}
	c.CommandKey, c.CommandKeyFile = pub, filepath.Join(opts.DataDir, SigningPubKeyFile)
	if err := c.loadInventory(ctx, db, opts.SiteCSV, log); err != nil {
		return fail(err)
	}

	book := receipts.NewBook(ctx, db, log)
	tracker := presence.New(db, log, func(id string) bool { _, ok := c.Inventory().Terminal(id); return ok }, book.TerminalOffline)
	if err := tracker.Load(ctx); err != nil {
		return fail(err)
	}
	programs, err := audio.NewPrograms(opts.DataDir, db, log)
	if err != nil {
		return fail(err)
	}
	// Before any report or presence change flows: what a killed controller left open.
	if _, err := book.Reopen(ctx, programFacts(programs)); err != nil {
		return fail(err)
	}

	if c.sec, err = startSecurity(ctx, opts, db, c, log); err != nil {
		return fail(err)
	}
	if c.sec.pki != nil {
		c.CAFile = c.sec.pki.CAFile
	}
	bus, err := connectBus(opts, c.sec, log)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { bus.Close() })

	grpcLn, err := net.Listen("tcp", opts.GRPCAddr)
	if err != nil {
		return fail(fmt.Errorf("audio service: listen %s: %w", opts.GRPCAddr, err))
	}
	gs := grpc.NewServer(c.sec.grpcOptions()...)
	audioService := audio.NewService(programs)
	c.Live = live.NewHub(nil, log) // Dispatch set once the dispatcher exists
	if opts.LiveDelay > 0 {
		c.Live.Delay = opts.LiveDelay
	}
	audioService.Live = c.Live
	dalabapb.RegisterAudioServiceServer(gs, audioService)
	dalabapb.RegisterLiveServiceServer(gs, c.Live)
	go gs.Serve(grpcLn)
	closers = append(closers, gs.Stop)

	c.Book, c.Presence, c.Bus = book, tracker, bus
	send := commands.New(bus, signer)
	c.Dispatcher = &dispatch.Dispatcher{Inventory: c.Inventory, Programs: programs, Book: book, Presence: tracker, Commands: send, Log: log,
		BaseLead: opts.StartLead}
	tracker.OnOnline(func(id string) { go c.Dispatcher.Redeliver(id) })
	tracker.OnReconnect(func(id string) { go c.Dispatcher.Resync(id) })
	c.Live.Dispatch = c.dispatchShout
	known := func(id string) bool { _, ok := c.Inventory().Terminal(id); return ok }
	c.Events = health.NewEvents(db, log)
	c.Health = health.NewBoard(known, c.Events, log)
	c.Remote = control.New(send, known, func(id string) bool { return tracker.Get(id).Online }, log)
	tracker.OnChange(c.Events.Presence) // offline (Last Will, goodbye, expired heartbeat) and back
	in := &ingest{book: book, presence: tracker, log: log}
	c.Metrics = newMetrics(c.Inventory, tracker, db, in, book, c.Health.ActiveFaults, c.sec.refusals(bus))
	c.Health.OnFault(c.Metrics.FaultEvent)
	if err := in.subscribe(bus); err != nil {
		return fail(err)
	}
	if err := in.subscribeHealth(bus, c.Health, c.Remote); err != nil {
		return fail(err)
	}
	if err := in.subscribeRejections(bus, c.Events, known, c.Metrics.CommandRejected); err != nil {
		return fail(err)
	}
	apiServer := &api.Server{Inventory: c.Inventory, Presence: tracker, Dispatcher: c.Dispatcher, Book: book, DB: db, Log: log}
	apiServer.Health, apiServer.Events, apiServer.Remote = c.Health, c.Events, c.Remote
	apiServer.GRPCAddr = grpcLn.Addr().String() // speakers stream shouts here
	apiServer.Shouts = c.Live
	apiServer.Credentials = c
	if c.sec.pki != nil {
		apiServer.GRPCCA = string(c.sec.pki.CAPEM)
	}
	// Bundles are written before the API answers, so a script that waits for /healthz finds them.
	c.TerminalBroker, c.sec.grpcAddr = terminalBrokerURL(opts, bus.Addr()), advertised(grpcLn.Addr().String())
	if opts.ProvisionDir != "" {
		if err := c.provisionAll(ctx, opts.ProvisionDir); err != nil {
			return fail(err)
		}
		c.ProvisionDir = opts.ProvisionDir
	}
	if c.Review, err = review.New(ctx, db, review.Options{Inventory: c.Inventory, AdminPassword: opts.AdminPassword,
		SensitiveTermsFile: opts.SensitiveTermsFile, SessionTTL: opts.SessionTTL, Log: log}); err != nil {
		return fail(err)
	}
	apiServer.Review = c.Review
	// Schedules start once the store is up: Start recovers slots a crash left claimed and
	// loads the schedule files (a bad file is logged, the stored set kept).
	c.log = log
	c.startTTS(opts)
	if c.TTS != nil {
		c.Review.ValidateVoice = c.TTS.CheckVoiceName
	}
	apiServer.Publish, apiServer.TTS = c.PublishNow, c.TTS
	if c.Schedules, err = schedule.New(ctx, schedule.Options{DB: db, Dir: opts.SchedulesDir, TimeZone: opts.TimeZone, Log: log, Fire: c.fireSlot}); err != nil {
		return fail(err)
	}
	if err := c.Schedules.Start(ctx); err != nil {
		return fail(err)
	}
	closers = append(closers, c.Schedules.Stop)
	apiServer.Schedules = c.Schedules
	httpLn, err := net.Listen("tcp", opts.HTTPAddr)
	if err != nil {
		return fail(fmt.Errorf("http: listen %s: %w", opts.HTTPAddr, err))
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", c.Metrics.Handler())
	if err := c.startCascade(ctx, opts, db, mux); err != nil {
		httpLn.Close()
		return fail(err)
	}
	if c.Cascade != nil {
		apiServer.Upper = c.Cascade
	}
	if err := c.serveHTTP(mux, c.limitAPI(apiServer.Handler(), opts.Limits)); err != nil {
		httpLn.Close()
		return fail(err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(httpLn)

	c.HTTPAddr, c.MQTTAddr, c.GRPCAddr = httpLn.Addr().String(), bus.Addr(), grpcLn.Addr().String()
	go tracker.Persist(ctx, 5*time.Second)
	go sweep(ctx, book)
	log.Info("controller ready", "http", c.HTTPAddr, "mqtt", c.MQTTAddr, "grpc", c.GRPCAddr,
		"terminals", c.Inventory().Len(), "data", opts.DataDir)

	go func() {
		<-ctx.Done()
		shut, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		hs.Shutdown(shut)
		stopped := make(chan struct{})
		c.Live.Stop() // listeners are told their shout is lost, so their streams end
		go func() { gs.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-shut.Done():
			gs.Stop()
		}
		c.Schedules.Stop() // a Fire in progress leaves its slot claimed, for the next start
		bus.Close()
		tracker.Stop() // no heartbeat expiry after this: the store is closing
		book.Flush()
		tracker.Flush()
		db.Close()
		log.Info("controller stopped")
		c.done <- nil
	}()
	return c, nil
}

// Reload re-reads the schedule files (SIGHUP, POST /api/v1/schedules/reload): the whole set
// applies, or nothing does and the error names the file, line and field.
func (c *Controller) Reload(ctx context.Context) error {
	_, err := c.Schedules.Reload(ctx)
	return err
}

// loadInventory imports the site CSV if given (whole or not at all), then loads the inventory.
func (c *Controller) loadInventory(ctx context.Context, db *store.DB, site string, log *slog.Logger) error {
	if site != "" {
		inv, err := inventory.ReadFile(site)
		if err != nil {
			return err
		}
		if err := inventory.Save(ctx, db, inv); err != nil {
			return err
		}
		log.Info("inventory imported", "file", site, "terminals", inv.Len())
	}
	inv, err := inventory.Load(ctx, db)
	if err != nil {
		return err
	}
	if inv.Len() == 0 {
		log.Warn("inventory is empty: start with --site to import terminals")
	}
	c.inv.Store(inv)
	return nil
}

func sweep(ctx context.Context, book *receipts.Book) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			book.Sweep(now, 10*time.Minute)
		}
	}
}
