package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"strconv"
)

// controlReply is the controller's answer to a control command.
type controlReply struct {
	Terminal    string `json:"terminal"`
	Volume      int32  `json:"volume"`
	RoundTripMs int64  `json:"round_trip_ms"`
	Clock       *struct {
		OffsetMs int64 `json:"offset_ms"`
	} `json:"clock"`
	SelfTest *struct {
		DurationMs int64   `json:"duration_ms"`
		Peak       float64 `json:"peak"`
		RMS        float64 `json:"rms"`
		Volume     int32   `json:"volume"`
	} `json:"self_test"`
}

// volume: ebctl volume ID 0-100
func volume(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: ebctl volume TERMINAL_ID 0-100")
	}
	id := args[0]
	v, err := strconv.Atoi(args[1]) // taken before flags: "-1" is a (bad) volume, not a flag
	if err != nil {
		return fmt.Errorf("音量应为 0 到 100 之间的整数，而不是 %q", args[1])
	}
	server := serverFlag("volume", args[2:])
	r, err := sendControl(server, id, "volume", map[string]int{"volume": v})
	if err != nil {
		return err
	}
	fmt.Printf("终端 %s 音量已设为 %d%%（往返 %d 毫秒）\n", r.Terminal, r.Volume, r.RoundTripMs)
	return nil
}

// clockCheck: ebctl clock-check ID
func clockCheck(args []string) error {
	if len(args) < 1 || args[0] == "" || args[0][0] == '-' {
		return errors.New("usage: ebctl clock-check TERMINAL_ID")
	}
	r, err := sendControl(serverFlag("clock-check", args[1:]), args[0], "clock-check", nil)
	if err != nil {
		return err
	}
	if r.Clock == nil {
		return errors.New("控制器的应答中没有时钟偏差")
	}
	off := r.Clock.OffsetMs
	dir := "快"
	if off < 0 {
		dir = "慢"
	}
	fmt.Printf("终端 %s 时钟比控制器%s %d 毫秒（往返 %d 毫秒，误差约 ±%d 毫秒）\n",
		r.Terminal, dir, abs(off), r.RoundTripMs, (r.RoundTripMs+1)/2)
	if abs(off) >= 1000 {
		fmt.Println("偏差超过 1 秒，请校准终端时钟")
	}
	return nil
}

// selfTest: ebctl self-test ID [--tone-hz 1000] [--duration-ms 500] [--level 0.05]
func selfTest(args []string) error {
	if len(args) < 1 || args[0] == "" || args[0][0] == '-' {
		return errors.New("usage: ebctl self-test TERMINAL_ID [--tone-hz 1000] [--duration-ms 500] [--level 0.05]")
	}
	fs := flag.NewFlagSet("self-test", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	hz := fs.Int("tone-hz", 0, "test tone frequency (default 1000)")
	ms := fs.Int("duration-ms", 0, "test tone length (default 500)")
	level := fs.Float64("level", 0, "test tone level, 0..1 of full scale (default 0.05)")
	fs.Parse(args[1:])
	body := map[string]any{"tone_hz": *hz, "duration_ms": *ms, "level": *level}
	r, err := sendControl(*server, args[0], "self-test", body)
	if err != nil {
		return err
	}
	if r.SelfTest == nil {
		return errors.New("控制器的应答中没有自检结果")
	}
	st := r.SelfTest
	fmt.Printf("终端 %s 自检完成：测试音 %d 毫秒已送至声卡\n", r.Terminal, st.DurationMs)
	fmt.Printf("  实测峰值 %.3f（%s），有效值 %.3f，音量 %d%%\n", st.Peak, dbfs(st.Peak), st.RMS, st.Volume)
	return nil
}

func serverFlag(name string, args []string) string {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	fs.Parse(args)
	return *server
}

func sendControl(server, id, op string, body any) (controlReply, error) {
	var r controlReply
	b, err := json.Marshal(body)
	if err != nil {
		return r, err
	}
	if body == nil {
		b = nil
	}
	resp, err := http.Post(fmt.Sprintf("%s/api/v1/terminals/%s/%s", server, id, op), "application/json", bytes.NewReader(b))
	if err != nil {
		return r, err
	}
	return r, decode(resp, &r)
}

func dbfs(peak float64) string {
	if peak <= 0 {
		return "无声"
	}
	return fmt.Sprintf("%.1f dBFS", 20*math.Log10(peak))
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
