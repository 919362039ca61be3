package wire

import (
	"strings"

	"dalaba/proto/dalabapb"
)

// RejectedTopic is where a terminal reports the commands it refused (CommandRejected).
func RejectedTopic(terminalID string) string { return topicRoot + "/rejected/" + terminalID }

// RejectedFilter is what the controller subscribes to for refused commands.
const RejectedFilter = topicRoot + "/rejected/+"

// RejectReasonName is a reason's stable name in the API, the store and metrics ("forged");
// "" for an unspecified or unknown reason.
func RejectReasonName(r dalabapb.RejectReason) string {
	if r == dalabapb.RejectReason_REJECT_REASON_UNSPECIFIED {
		return ""
	}
	if _, ok := dalabapb.RejectReason_name[int32(r)]; !ok {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(r.String(), "REJECT_REASON_"))
}
