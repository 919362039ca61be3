package controller_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// mosquitto is a real Mosquitto broker (Debian package) on a free port, with persistence so a
// graceful restart keeps sessions and queued messages, as a production broker would.
type mosquitto struct {
	t         testing.TB
	bin, conf string
	addr      string
	cmd       *exec.Cmd
	log       *os.File
}

func startMosquitto(t testing.TB) string { return newMosquitto(t).url() }

func newMosquitto(t testing.TB) *mosquitto {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
		if _, err2 := os.Stat(bin); err2 != nil {
			t.Fatalf("mosquitto is not installed (apt-get install mosquitto; make test installs it): %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	m := &mosquitto{t: t, bin: bin, conf: filepath.Join(dir, "mosquitto.conf"), addr: fmt.Sprintf("127.0.0.1:%d", port)}
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nmax_queued_messages 200000\nmax_inflight_messages 100\n", port, dir)
	if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if m.log, err = os.Create(filepath.Join(dir, "mosquitto.log")); err != nil {
		t.Fatal(err)
	}
	m.start()
	t.Cleanup(func() {
		m.stop()
		m.log.Close()
	})
	return m
}

func (m *mosquitto) url() string { return "tcp://" + m.addr }

func (m *mosquitto) start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "-c", m.conf, "-v")
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	eventually(m.t, 5*time.Second, func() error {
		c, err := net.Dial("tcp", m.addr)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// stop shuts the broker down gracefully (it saves its sessions).
func (m *mosquitto) stop() {
	if m.cmd == nil || m.cmd.ProcessState != nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	m.cmd.Wait()
}

func (m *mosquitto) restart() {
	m.stop()
	m.start()
}
