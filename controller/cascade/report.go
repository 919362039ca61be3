package cascade

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"dalaba/controller/receipts"
)

// watchEvery is how often an open broadcast's receipts are looked at for a state report.
const watchEvery = 200 * time.Millisecond

// watch reports a message's state upward whenever it changes, until this town's broadcast has
// finished (reports from below are sent on as they come, by takeReport).
func (s *Service) watch(id, broadcastID string) {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		s.sendState(id)
		if broadcastID == "" {
			return
		}
		if sum, ok := s.Book.Snapshot(broadcastID); !ok || sum.State != receipts.StateActive {
			s.sendState(id) // the final state, once more in case it changed since
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sendState posts the message's state and coverage upstream if it changed since the last report.
func (s *Service) sendState(id string) {
	s.sendMu.Lock() // one report at a time: a newer state never overtaken by an older one
	defer s.sendMu.Unlock()
	st, err := s.Status(s.ctx, id)
	if err != nil {
		s.Log.Error("cascade state", "message", id, "err", err)
		return
	}
	key := fmt.Sprint(st)
	s.mu.Lock()
	if s.sent == nil {
		s.sent = map[string]string{}
	}
	same := s.sent[id] == key
	s.sent[id] = key
	s.mu.Unlock()
	if same || s.Config.Upstream.URL == "" {
		return
	}
	e := &EBD{Header: s.envelope(TypeState, s.Config.Upstream.PlatformID, ""), State: &EBMStateResponse{RptTime: FormatTime(time.Now()),
		EBMID: id, BrdStateCode: st.State, BrdStateDesc: st.State.Chinese(), Coverage: st.Coverage}}
	if err := s.sendUp(e, "message", id); err != nil {
		s.mu.Lock()
		delete(s.sent, id) // sent again with the next change or report
		s.mu.Unlock()
	}
}

// sendUp signs and posts a report to the upstream URL.
func (s *Service) sendUp(e *EBD, keyvals ...any) error {
	p, err := s.pack(e, nil)
	if err == nil {
		var code ResultCode
		var desc string
		code, desc, err = s.post(s.Config.Upstream.URL, p, Upper)
		if err == nil && code != ResultOK {
			err = fmt.Errorf("answered %d %s", code, desc)
		}
	}
	if err != nil {
		s.Log.Error("report to upstream failed", append([]any{"type", e.Header.EBDType, "err", err}, keyvals...)...)
	}
	return err
}

// takeReport keeps a platform's coverage report and sends the sum on up.
func (s *Service) takeReport(ctx context.Context, platform string, r *EBMStateResponse) Outcome {
	rec, err := loadAlert(ctx, s.DB, r.EBMID)
	if err != nil {
		return refuse(err)
	}
	if !slices.Contains(rec.RelayedTo, platform) {
		return Outcome{Code: ResultOther, Desc: "该消息未转发给贵平台，不接收其状态报告",
			Err: fmt.Errorf("state report of %s from %s, which it was not relayed to", rec.ID, platform)}
	}
	now := time.Now()
	for _, c := range r.Coverage {
		if err := saveReport(ctx, s.DB, rec.ID, platform, r.BrdStateCode, c, now); err != nil {
			return refuse(err)
		}
	}
	go s.sendState(rec.ID)
	return Outcome{Code: ResultOK, Desc: ResultOK.Chinese()}
}

// answerState is a message's state and coverage for the upper platform that asks.
func (s *Service) answerState(ctx context.Context, id string) Outcome {
	st, err := s.Status(ctx, id)
	if errors.Is(err, ErrUnknownAlert) {
		return Outcome{Code: ResultOther, Desc: "未曾接收该消息：" + id, Err: err}
	}
	if err != nil {
		return refuse(err)
	}
	return Outcome{Code: ResultOK, State: &EBMStateResponse{RptTime: FormatTime(time.Now()), EBMID: id, BrdStateCode: st.State,
		BrdStateDesc: st.State.Chinese(), Coverage: st.Coverage}}
}

func (s *Service) peerSeen(platform string, f func(*PeerStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[platform]
	f(&ps)
	s.peers[platform] = ps
}

// Peer is what the named platform below last said about itself.
func (s *Service) Peer(name string) PeerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peers[name]
}

// heartbeats sends ConnectionCheck and the terminals' states upstream, each at its period.
func (s *Service) heartbeats(ctx context.Context) {
	hb, ts := time.NewTicker(s.Config.Upstream.Heartbeat), time.NewTicker(s.Config.Upstream.TerminalState)
	defer hb.Stop()
	defer ts.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hb.C:
			s.sendUp(&EBD{Header: s.envelope(TypeCheck, s.Config.Upstream.PlatformID, ""), Check: &ConnectionCheck{RptTime: FormatTime(time.Now())}})
		case <-ts.C:
			s.sendUp(&EBD{Header: s.envelope(TypeTerminalRept, s.Config.Upstream.PlatformID, ""), Terms: s.terminalStates()})
		}
	}
}

// terminalStates is every terminal's resource state: off when offline, fault with an active
// fault, broadcasting while it works, else on.
func (s *Service) terminalStates() *EBRDTState {
	out := &EBRDTState{RptTime: FormatTime(time.Now())}
	for _, t := range s.Inventory().Terminals() {
		st := ResOn
		switch h := s.Health.Get(t.ID); {
		case !s.Presence.Get(t.ID).Online:
			st = ResOff
		case len(h.Faults) > 0:
			st = ResFault
		case h.WorkState == "working":
			st = ResBroadcasting
		}
		out.Terminals = append(out.Terminals, Terminal{EBRID: t.ResourceCode, StateCode: st, StateDesc: resStateChinese[st]})
	}
	return out
}

var resStateChinese = map[ResState]string{ResOn: "开机/运行正常", ResOff: "关机/停止运行", ResFault: "故障", ResRecovered: "故障恢复", ResBroadcasting: "播发中"}
