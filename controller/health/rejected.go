package health

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// KindCommandRejected is the event kind of a command a terminal refused to act on; the
// detail starts with the reason (wire.RejectReasonName): "forged: dalaba/v1/cmd/... seq ...".
const KindCommandRejected = "command_rejected"

var rejectNames = map[string]string{
	"unsigned":    "未签名",
	"forged":      "签名无效（伪造或被篡改）",
	"unknown_key": "非本控制中心的密钥",
	"replayed":    "重放的旧命令",
	"stale":       "签发时间过久",
	"future":      "签发时间超前",
	"unreadable":  "命令无法解析",
}

// describeRejection says, for staff, why a terminal refused a command: "拒绝执行命令：未签名".
func describeRejection(detail string) string {
	reason, _, _ := strings.Cut(detail, ":")
	if n, ok := rejectNames[reason]; ok {
		return "拒绝执行命令：" + n
	}
	return "拒绝执行命令"
}

// Rejection is a terminal's report of commands it refused, checked.
type Rejection struct {
	Event  Event  // to store: kind command_rejected, the reason first in the detail
	Reason string // wire.RejectReasonName
	Count  int    // refusals it stands for: this one and those the terminal did not report alone
}

// ParseRejection reads a CommandRejected published on the rejected topic of terminal from;
// known says whether a terminal is in the inventory. A report about another terminal, from an
// unknown one, with an unknown reason or a time JSON cannot carry is an error.
func ParseRejection(from string, payload []byte, known func(string) bool, received time.Time) (Rejection, error) {
	var m dalabapb.CommandRejected
	if err := proto.Unmarshal(payload, &m); err != nil {
		return Rejection{}, fmt.Errorf("malformed rejection report: %w", err)
	}
	reason := wire.RejectReasonName(m.GetReason())
	switch {
	case m.GetTerminalId() != from:
		return Rejection{}, fmt.Errorf("rejection report of terminal %q on the topic of %q", m.GetTerminalId(), from)
	case !known(from):
		return Rejection{}, fmt.Errorf("rejection report from unknown terminal %q", from)
	case reason == "":
		return Rejection{}, fmt.Errorf("rejection report with unknown reason %d", m.GetReason())
	case m.GetAtUnixMs() < 0 || m.GetAtUnixMs() > maxUnixMs:
		return Rejection{}, fmt.Errorf("rejection report time %d ms", m.GetAtUnixMs())
	}
	detail := reason + ": " + clip(m.GetTopic(), 120)
	if n := m.GetSeq(); n != 0 {
		detail += fmt.Sprintf(" seq %d", n)
	}
	if k := m.GetKeyId(); k != "" {
		detail += " key " + clip(k, 32)
	}
	if d := m.GetDetail(); d != "" {
		detail += ": " + clip(d, 300)
	}
	if n := m.GetSuppressed(); n > 0 {
		detail += fmt.Sprintf(" (and %d more refused since the last report)", n)
	}
	return Rejection{Reason: reason, Count: 1 + int(m.GetSuppressed()),
		Event: Event{Terminal: from, Kind: KindCommandRejected, Active: true, Detail: detail,
			At: time.UnixMilli(m.GetAtUnixMs()), Received: received}}, nil
}

// clip shortens s to at most n bytes on a rune boundary, and makes it valid UTF-8 (it goes
// into the store and out as JSON).
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
