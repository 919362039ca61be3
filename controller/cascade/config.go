package cascade

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the cascade configuration file (YAML; docs/CASCADE.md). Certificate paths are
// relative to the file.
type Config struct {
	PlatformID string     `yaml:"platform_id"` // this platform's 18-digit resource ID (EBRID)
	Name       string     `yaml:"name"`        // as it signs and reports
	Upper      []Peer     `yaml:"upper"`       // platforms whose messages play here
	Upstream   Upstream   `yaml:"upstream"`    // where reports go
	Downstream []Platform `yaml:"downstream"`  // platforms below that this one relays to
	// Drills: "off" (drills are answered and not played) or "drill_terminals" (played only on
	// the terminals listed in drill_terminals).
	Drills         string   `yaml:"drills"`
	DrillTerminals []string `yaml:"drill_terminals"`
	Voice          string   `yaml:"voice"` // TTS voice for messages without audio; empty: the default

	dir string
}

// Peer is a trusted platform: its name and certificate file.
type Peer struct {
	Name string `yaml:"name"`
	Cert string `yaml:"cert"`
}

// Upstream is the upper platform's intake for this platform's reports.
type Upstream struct {
	URL           string        `yaml:"url"`
	PlatformID    string        `yaml:"platform_id"`    // DEST of reports; optional
	Heartbeat     time.Duration `yaml:"heartbeat"`      // ConnectionCheck period: 30 s
	TerminalState time.Duration `yaml:"terminal_state"` // EBRDTState period: 120 s
}

// Platform is a platform below: where its intake is, which areas it covers, and the
// certificate its reports are signed with.
type Platform struct {
	Name       string   `yaml:"name"`
	URL        string   `yaml:"url"`
	PlatformID string   `yaml:"platform_id"`
	Areas      []string `yaml:"areas"`
	Cert       string   `yaml:"cert"`
}

// Defaults of the report periods (deployment values of the domain notes).
const (
	DefaultHeartbeat     = 30 * time.Second
	DefaultTerminalState = 120 * time.Second
)

// LoadConfig reads and checks the file; every problem is named with its field.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cascade config: %w", err)
	}
	var c Config
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("cascade config %s: %w", path, err)
	}
	c.dir = filepath.Dir(path)
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("cascade config %s: %w", path, err)
	}
	return &c, nil
}

func (c *Config) check() error {
	if c.Upstream.Heartbeat == 0 {
		c.Upstream.Heartbeat = DefaultHeartbeat
	}
	if c.Upstream.TerminalState == 0 {
		c.Upstream.TerminalState = DefaultTerminalState
	}
	if c.Drills == "" {
		c.Drills = "off"
	}
	switch {
	case !reEBRID.MatchString(c.PlatformID):
		return fmt.Errorf("platform_id %q: want this platform's 18-digit resource ID", c.PlatformID)
	case c.Name == "":
		return errors.New("name: empty")
	case c.Drills != "off" && c.Drills != "drill_terminals":
		return fmt.Errorf("drills %q: want off or drill_terminals", c.Drills)
	case c.Drills == "drill_terminals" && len(c.DrillTerminals) == 0:
		return errors.New("drills is drill_terminals but drill_terminals lists none")
	case c.Upstream.URL != "" && !httpURL(c.Upstream.URL):
		return fmt.Errorf("upstream.url %q: want an http(s) URL", c.Upstream.URL)
	case c.Upstream.PlatformID != "" && !reEBRID.MatchString(c.Upstream.PlatformID):
		return fmt.Errorf("upstream.platform_id %q: want 18 digits", c.Upstream.PlatformID)
	case c.Upstream.Heartbeat < 0 || c.Upstream.TerminalState < 0:
		return errors.New("upstream: report periods must be positive")
	}
	for i, p := range c.Upper {
		if p.Name == "" || p.Cert == "" {
			return fmt.Errorf("upper[%d]: name and cert are required", i)
		}
	}
	for i, p := range c.Downstream {
		switch {
		case p.Name == "" || p.Cert == "":
			return fmt.Errorf("downstream[%d]: name and cert are required", i)
		case !httpURL(p.URL):
			return fmt.Errorf("downstream[%d] (%s): url %q: want an http(s) URL", i, p.Name, p.URL)
		case p.PlatformID != "" && !reEBRID.MatchString(p.PlatformID):
			return fmt.Errorf("downstream[%d] (%s): platform_id %q: want 18 digits", i, p.Name, p.PlatformID)
		case len(p.Areas) == 0:
			return fmt.Errorf("downstream[%d] (%s): areas: none", i, p.Name)
		}
		for _, a := range p.Areas {
			if _, err := parseArea(a); err != nil {
				return fmt.Errorf("downstream[%d] (%s): %w", i, p.Name, err)
			}
		}
	}
	return nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Trust loads the certificates the file names.
func (c *Config) Trust() (*Trust, error) {
	var issuers []Issuer
	add := func(name, file string, role Role) error {
		if !filepath.IsAbs(file) {
			file = filepath.Join(c.dir, file)
		}
		cert, err := LoadCert(file)
		if err != nil {
			return fmt.Errorf("%s %s: %w", role, name, err)
		}
		issuers = append(issuers, Issuer{Name: name, Role: role, Cert: cert})
		return nil
	}
	for _, p := range c.Upper {
		if err := add(p.Name, p.Cert, Upper); err != nil {
			return nil, err
		}
	}
	for _, p := range c.Downstream {
		if err := add(p.Name, p.Cert, Downstream); err != nil {
			return nil, err
		}
	}
	return NewTrust(issuers)
}
