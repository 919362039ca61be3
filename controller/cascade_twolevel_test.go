package controller_test

// A two-level cascade in one test: a county controller (no terminals of its own) relays the
// province's message, re-signed, to a township controller, whose agents play it; the
// township's state, coverage per area, heartbeats and terminal states flow back up to the
// county, which adds them up. A cancel from the province stops it on the township's horns.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/controller/api"
	"dalaba/controller/cascade"
	"dalaba/controller/receipts"
	"dalaba/proto/priority"
)

func TestCascadeTwoLevel(t *testing.T) {
	province := validUpper(t, "province", "010336000000000000", cascade.AlgSM2)
	countyData, countyCert := cascadeDir(t, "弋阳县应急广播平台")
	townData, townCert := cascadeDir(t, "曹溪镇应急广播平台")
	countyAddr := freeAddr(t)

	town := startCascade(t, townData, fmt.Sprintf(`platform_id: "%s"
name: 曹溪镇应急广播平台
upper:
  - {name: county, cert: %s}
upstream:
  url: http://%s/api/v1/cascade/ebd
  platform_id: "%s"
  heartbeat: 300ms
  terminal_state: 500ms
`, townshipID, countyCert, countyAddr, countyID), true, nil)
	county := startCascade(t, countyData, fmt.Sprintf(`platform_id: "%s"
name: 弋阳县应急广播平台
upper:
  - {name: province, cert: %s}
downstream:
  - {name: caoxi, url: "http://%s/api/v1/cascade/ebd", platform_id: "%s", areas: ["361126104000"], cert: %s}
`, countyID, province.certFile, town.HTTPAddr, townshipID, townCert), false, func(o *controller.Options) { o.HTTPAddr = countyAddr })
	agents := []*agentProc{startAgent(t, town, "", "t001", group201001), startAgent(t, town, "", "t002", group201001)}
	waitOnline(t, town, agents...)
	ctx := context.Background()

	// The province's red alert for one group and for the whole county.
	code, desc, e := province.send(t, county, msg{ebmSeq: 1, severity: 1, areas: group201001 + ",361126000000", title: "山洪红色预警",
		audio: toneWAV(t, 440, 600*time.Millisecond)})
	if code != cascade.ResultOK {
		t.Fatalf("county answered %d %q", code, desc)
	}
	id := e.EBM.EBMID
	for _, a := range agents {
		rc := awaitReceipt(t, town, "ebm-"+id, a.id, func(r receipts.Receipt) bool { return r.State.Final() })
		if rc.State != receipts.Done {
			t.Fatalf("township terminal %s: %+v, want done", a.id, rc)
		}
	}
	sum, _ := town.Book.Get(ctx, "ebm-"+id)
	if want, _ := priority.Emergency(true, priority.Red); sum.Priority != int32(want) || len(sum.Receipts) != 125 {
		t.Errorf("township broadcast %+v with %d receipts: want the upper-level red level %d over the whole town (125)", sum.Broadcast, len(sum.Receipts), want)
	}
	// Coverage flows up: the group fully, the county code as 2 of the town's 125 terminals.
	want := cascade.Status{State: cascade.BrdSuccess, Coverage: []cascade.Coverage{
		{AreaCode: group201001, CoverageRate: "100.0", ResTotal: 2, ResPlayed: 2},
		{AreaCode: "361126000000", CoverageRate: "1.6", ResTotal: 125, ResPlayed: 2}}}
	var got cascade.Status
	eventually(t, 20*time.Second, func() error {
		var err error
		if got, err = county.Cascade.Status(ctx, id); err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("county sees %+v, want %+v", got, want)
		}
		return nil
	})
	if own, _ := town.Cascade.Status(ctx, id); !reflect.DeepEqual(own, want) {
		t.Errorf("township's own status %+v, want what the county sees", own)
	}
	// The province asks the county for the state and gets the same, signed.
	ask := &cascade.EBD{Header: cascade.Header{EBDID: cascade.NewEBDID(province.id, province.seq.Add(1)), EBDType: cascade.TypeStateReq,
		SRC: province.id, EBDTime: cascade.FormatTime(time.Now())}, StateReq: &cascade.EBMStateRequest{EBMID: id}}
	answer, _ := postPackage(t, county.HTTPAddr, "ebd", province.pkg(t, ask, nil))
	if answer.State == nil || answer.State.EBMID != id || answer.State.BrdStateCode != want.State ||
		!reflect.DeepEqual(answer.State.Coverage, want.Coverage) {
		t.Errorf("the county's answer to the province's state request: %+v %+v, want %+v", answer.Header, answer.State, want)
	}
	// Heartbeats and terminal states reach the county.
	eventually(t, 10*time.Second, func() error {
		p := county.Cascade.Peer("caoxi")
		if p.LastHeartbeat.IsZero() || p.TerminalsTotal != 125 || p.TerminalsOn != 2 {
			return fmt.Errorf("county's view of the township: %+v, want a heartbeat and 2 of 125 terminals on", p)
		}
		return nil
	})
	// The county's staff see the township among the platforms below, and the message.
	var seen api.UpperMessagesJSON
	staffMust(t, 200, county, staffLogin(t, county, "admin", adminPassword), "GET", "/api/v1/upper-messages", nil, &seen)
	if len(seen.Below) != 1 || seen.Below[0].Name != "caoxi" || seen.Below[0].LastHeartbeat == nil || seen.Below[0].Silent ||
		seen.Below[0].TerminalsTotal != 125 || seen.Below[0].TerminalsOn != 2 || len(seen.Below[0].Areas) == 0 {
		t.Errorf("the county's staff see below %+v, want caoxi with its areas, a recent heartbeat and 2 of 125 terminals on", seen.Below)
	}
	if len(seen.Messages) != 1 || seen.Messages[0].ID != id {
		t.Errorf("the county's staff see messages %+v, want the province's %s", seen.Messages, id)
	}

	// A long message, cancelled by the province while the township plays it.
	if code, desc, _ := province.send(t, county, msg{ebmSeq: 2, severity: 2, areas: group201001, title: "长预警",
		audio: toneWAV(t, 330, 20*time.Second)}); code != cascade.ResultOK {
		t.Fatalf("county answered %d %q", code, desc)
	}
	long := province.ebmID(2)
	awaitReceipt(t, town, "ebm-"+long, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Playing })
	if code, desc, _ := province.send(t, county, msg{ebmSeq: 3, typ: cascade.MsgCancel, cancels: long}); code != cascade.ResultOK {
		t.Fatalf("cancel answered %d %q", code, desc)
	}
	for _, a := range agents {
		if rc := awaitReceipt(t, town, "ebm-"+long, a.id, func(r receipts.Receipt) bool { return r.State.Final() }); rc.State != receipts.Cancelled {
			t.Errorf("township terminal %s after the province's cancel: %+v", a.id, rc)
		}
	}
	eventually(t, 10*time.Second, func() error {
		if st, err := county.Cascade.Status(ctx, long); err != nil || st.State != cascade.BrdCancelled {
			return fmt.Errorf("county sees %+v %v, want cancelled", st, err)
		}
		return nil
	})

	// A drill reaches the township, which is configured to play none (drills: off by default).
	if code, desc, _ := province.send(t, county, msg{ebmSeq: 4, typ: cascade.MsgDrillPlatform, severity: 4, areas: group201001,
		title: "演练", audio: toneWAV(t, 440, 600*time.Millisecond)}); code != cascade.ResultOK {
		t.Fatalf("drill answered %d %q", code, desc)
	}
	drill := province.ebmID(4)
	eventually(t, 10*time.Second, func() error {
		_, err := town.Cascade.Status(ctx, drill) // known once relayed
		return err
	})
	if _, err := town.Book.Get(ctx, "ebm-"+drill); !errors.Is(err, receipts.ErrNotFound) {
		t.Errorf("the township played a drill with drills off: %v", err)
	}
}
