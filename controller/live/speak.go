package live

import (
	"crypto/subtle"
	"errors"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dalaba/proto/dalabapb"
	"dalaba/proto/opusframe"
)

// Shout receives a speaker's stream (LiveService.Shout): an open naming the shout and its key,
// then Opus frames as they are spoken. Errors carry messages for staff, in Chinese.
func (h *Hub) Shout(stream grpc.ClientStreamingServer[dalabapb.ShoutFrame, dalabapb.ShoutResult]) error {
	ctx := stream.Context()
	frames, failed := make(chan *dalabapb.ShoutFrame), make(chan error, 1)
	go func() {
		for {
			f, err := stream.Recv()
			if err != nil {
				failed <- err
				return
			}
			select {
			case frames <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	idle := time.NewTimer(SpeakerIdle)
	defer idle.Stop()

	var first *dalabapb.ShoutFrame
	select {
	case first = <-frames:
	case err := <-failed:
		if errors.Is(err, io.EOF) {
			return status.Error(codes.InvalidArgument, "喊话流是空的：第一帧应当是 open（live_id 和 stream_key）")
		}
		return err
	case <-idle.C:
		return status.Errorf(codes.DeadlineExceeded, "喊话流 %v 内没有发来 open", SpeakerIdle)
	}
	open := first.GetOpen()
	if open == nil {
		return status.Error(codes.InvalidArgument, "喊话流的第一帧应当是 open（live_id 和 stream_key）")
	}
	s := h.get(open.GetLiveId())
	if s == nil {
		return status.Errorf(codes.NotFound, "没有这个喊话（%q）：先用 POST /api/v1/shouts 开启，或它已经结束", open.GetLiveId())
	}
	if subtle.ConstantTimeCompare([]byte(open.GetStreamKey()), []byte(s.key)) != 1 {
		h.log().Warn("shout refused: wrong stream key", "live", s.id)
		return status.Errorf(codes.PermissionDenied, "喊话密钥不对（喊话 %s）", s.id)
	}
	switch err := s.attach(); {
	case errors.Is(err, errOver):
		return status.Errorf(codes.FailedPrecondition, "喊话 %s 已经结束，不能再发送", s.id)
	case err != nil:
		return status.Errorf(codes.FailedPrecondition, "喊话 %s 已经有人在讲，不能同时再开一路", s.id)
	}
	h.log().Info("speaker connected", "live", s.id, "by", s.by)
	result := func() *dalabapb.ShoutResult {
		st := s.stats()
		return &dalabapb.ShoutResult{Frames: uint32(st.Frames), DurationMs: int64(st.Frames) * FrameDuration.Milliseconds()}
	}

	f := first
	for {
		if len(f.GetOpus()) > 0 {
			if len(f.Opus) > opusframe.MaxPacket {
				s.finish(false, "the client sent an oversized frame")
				return status.Errorf(codes.InvalidArgument, "第 %d 帧有 %d 字节，超过 Opus 帧的上限 %d", f.Seq, len(f.Opus), opusframe.MaxPacket)
			}
			if err := s.take(f.Seq, f.Opus, time.Now()); err != nil {
				s.finish(false, err.Error())
				if errors.Is(err, errOver) {
					return status.Errorf(codes.Aborted, "喊话 %s 已经结束", s.id)
				}
				return status.Errorf(codes.InvalidArgument, "发送快于实时，喊话已停止：%v", err)
			}
		}
		idle.Reset(SpeakerIdle)
		select {
		case f = <-frames:
		case err := <-failed:
			if errors.Is(err, io.EOF) {
				s.finish(true, "")
				return stream.SendAndClose(result())
			}
			s.finish(false, "the speaker's link dropped: "+err.Error())
			return err
		case <-idle.C:
			s.finish(false, "no audio from the speaker for "+SpeakerIdle.String())
			return status.Errorf(codes.DeadlineExceeded, "%v 没有收到声音，喊话已中断", SpeakerIdle)
		case <-s.closed: // the controller is stopping
			return status.Errorf(codes.Unavailable, "喊话 %s 已中断：控制中心正在停止", s.id)
		}
	}
}
