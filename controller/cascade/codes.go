package cascade

// ResultCode answers a received EBD (EBDResponse, GD/J 083).
type ResultCode int

const (
	ResultOK        ResultCode = 1
	ResultParse     ResultCode = 2 // not XML of the expected shape
	ResultMissing   ResultCode = 3 // a required field or attachment is missing or invalid
	ResultSignature ResultCode = 4 // signature or digest verification failed
	ResultOther     ResultCode = 5 // replayed, not ours, not playable, internal failure
)

// Chinese is the result as the standard words it.
func (c ResultCode) Chinese() string {
	switch c {
	case ResultOK:
		return "接收成功"
	case ResultParse:
		return "解析失败"
	case ResultMissing:
		return "内容缺失"
	case ResultSignature:
		return "签名验证失败"
	}
	return "其他错误"
}

// MsgType is an EBM's kind (MsgBasicInfo/MsgType).
type MsgType int

const (
	MsgBroadcast     MsgType = 1
	MsgCancel        MsgType = 2
	MsgDrillPlatform MsgType = 3 // drills at platform, front end and terminal level
	MsgDrillFrontEnd MsgType = 4
	MsgDrillTerminal MsgType = 5
)

// Drill reports whether t is one of the three drill types.
func (t MsgType) Drill() bool { return t >= MsgDrillPlatform && t <= MsgDrillTerminal }

// BrdState is a broadcast's state as upper platforms read it (EBMStateResponse).
type BrdState int

const (
	BrdUnprocessed BrdState = 0
	BrdWaiting     BrdState = 1
	BrdPlaying     BrdState = 2
	BrdSuccess     BrdState = 3
	BrdFailure     BrdState = 4
	BrdCancelled   BrdState = 5
)

// Chinese names the state.
func (s BrdState) Chinese() string {
	return [...]string{"未处理", "等待播发", "播发中", "播发成功", "播发失败", "已取消"}[min(max(int(s), 0), 5)]
}

// ResState is a terminal's resource state (EBRDTState).
type ResState int

const (
	ResOn           ResState = 1
	ResOff          ResState = 2
	ResFault        ResState = 3
	ResRecovered    ResState = 4
	ResBroadcasting ResState = 5
)

// Envelope types this package reads and writes (EBDHeader/EBDType).
const (
	TypeEBM          = "EBM"
	TypeResponse     = "EBDResponse"
	TypeState        = "EBMStateResponse"
	TypeStateReq     = "EBMStateRequest"
	TypeCheck        = "ConnectionCheck"
	TypeTerminalRept = "EBRDTState"
)
