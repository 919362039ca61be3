// Package wire holds what the controller and the terminal agents must agree on besides the
// protobuf schema: MQTT topic names, tier addresses and the system audio format.
package wire

import (
	"fmt"
	"strings"

	"dalaba/proto/dalabapb"
)

// Tier is one level of the addressing tree: town > village > group > terminal.
type Tier string

const (
	TierTown     Tier = "town"
	TierVillage  Tier = "village"
	TierGroup    Tier = "group"
	TierTerminal Tier = "terminal"
)

// Tiers lists the tiers from the top down.
var Tiers = []Tier{TierTown, TierVillage, TierGroup, TierTerminal}

// Address names a set of terminals: a whole town, a village, a group or one terminal.
type Address struct {
	Tier Tier
	Code string // region code, or the terminal id for TierTerminal
}

func (a Address) String() string { return string(a.Tier) + ":" + a.Code }

// ParseAddress reads "tier:code".
func ParseAddress(s string) (Address, error) {
	tier, code, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || code == "" {
		return Address{}, fmt.Errorf("address %q: want tier:code, for example village:361126104201", s)
	}
	for _, t := range Tiers {
		if Tier(tier) == t {
			if strings.ContainsAny(code, "/+#: ") {
				return Address{}, fmt.Errorf("address %q: code contains a forbidden character", s)
			}
			return Address{Tier: t, Code: code}, nil
		}
	}
	return Address{}, fmt.Errorf("address %q: unknown tier %q (want town, village, group or terminal)", s, tier)
}

// ParseAddresses reads a comma-separated list of addresses.
func ParseAddresses(s string) ([]Address, error) {
	var out []Address
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		a, err := ParseAddress(part)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no target address given")
	}
	return out, nil
}

const topicRoot = "dalaba/v1"

// CommandTopic is where commands for every terminal under an address are published.
// Each terminal subscribes to the four topics of its own tiers, so one publish to a village
// topic is fanned out by the broker to every terminal of that village.
func CommandTopic(a Address) string { return topicRoot + "/cmd/" + string(a.Tier) + "/" + a.Code }

// ReceiptTopic is where a terminal publishes its receipts.
func ReceiptTopic(terminalID string) string { return topicRoot + "/receipt/" + terminalID }

// StatusTopic is where a terminal's retained presence (and its Last Will) lives.
func StatusTopic(terminalID string) string { return topicRoot + "/status/" + terminalID }

// Filters the controller subscribes to.
const (
	ReceiptFilter = topicRoot + "/receipt/+"
	StatusFilter  = topicRoot + "/status/+"
)

// TelemetryTopic is where a terminal publishes its heartbeat (Telemetry).
func TelemetryTopic(terminalID string) string { return topicRoot + "/telemetry/" + terminalID }

// EventTopic is where a terminal publishes its fault and recovery events (FaultEvent).
func EventTopic(terminalID string) string { return topicRoot + "/event/" + terminalID }

// ReplyTopic is where a terminal answers control commands (ControlReply).
func ReplyTopic(terminalID string) string { return topicRoot + "/reply/" + terminalID }

// Filters for the terminals' health and control replies.
const (
	TelemetryFilter = topicRoot + "/telemetry/+"
	EventFilter     = topicRoot + "/event/+"
	ReplyFilter     = topicRoot + "/reply/+"
)

// ClientID is the MQTT client id a terminal connects with; the embedded broker refuses any
// other for that terminal's credentials.
func ClientID(terminalID string) string { return "dalaba-" + terminalID }

// TerminalFromTopic returns the last level of a receipt or status topic.
func TerminalFromTopic(topic string) string {
	i := strings.LastIndexByte(topic, '/')
	return topic[i+1:]
}

// The system's single audio format: every program is converted to it once, on the controller.
// 16 kHz mono covers speech (horns reproduce little above 7 kHz) at 32 KB/s.
const (
	SampleRate     = 16000
	Channels       = 1
	BitsPerSample  = 16
	BytesPerSecond = SampleRate * Channels * BitsPerSample / 8
)

// Format is the system audio format as sent on the wire.
func Format() *dalabapb.AudioFormat {
	return &dalabapb.AudioFormat{SampleRate: SampleRate, Channels: Channels, BitsPerSample: BitsPerSample}
}
