package health

import "strings"

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
