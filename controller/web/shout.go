package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"

	"dalaba/controller/live"
)

// Live shouting from the browser: the page captures the microphone (getUserMedia, an
// AudioWorklet resampled to 16 kHz) and sends 16-bit PCM frames over a WebSocket. The console
// opens the shout through POST /api/v1/shouts, as ebctl shout does, and streams the PCM with
// live.Speak, ebctl's own code path: Opus encoding and the gRPC stream to the live hub.
//
// The socket's messages: from the browser, binary PCM (s16le, 16 kHz, mono) and a text "stop";
// from the console, JSON text: {"id"} once the shout is open, {"error", "field"} when it cannot
// be, and {"done", "frames", "seconds"} at the end.

// shoutIdle ends a shout whose browser has sent nothing for this long.
const shoutIdle = 10 * time.Second

func (c *Console) shoutPage(w http.ResponseWriter, r *http.Request, u user) {
	ts, ans := c.terminals(r, u)
	if !ans.OK() {
		c.apiFailed(w, r, u, ans)
		return
	}
	f := newForm()
	c.render(w, r, "shout", u, map[string]any{"Towns": buildTree(ts), "Checked": f.Checked, "Errors": f.Errors})
}

func (c *Console) shoutSocket(w http.ResponseWriter, r *http.Request, u user) {
	q := r.URL.Query()
	if !c.validCSRF(u.token, q.Get("csrf")) { // a GET, so signedIn did not check it
		http.Error(w, "页面已过期，请刷新页面后重试", http.StatusForbidden)
		return
	}
	ws, err := websocket.Accept(w, r, nil) // same origin only (the library's default)
	if err != nil {
		return // Accept has answered
	}
	defer ws.CloseNow()
	ctx := r.Context()
	say := func(v any) {
		b, _ := json.Marshal(v) // plain maps of strings and numbers
		ws.Write(ctx, websocket.MessageText, b)
	}
	targets := strings.Join(sortedAddrs(q["targets"]), ",")
	ans := c.callJSON(r, u.token, "POST", "/api/v1/shouts", map[string]string{"title": q.Get("title"), "targets": targets})
	if !ans.OK() {
		e := ans.Err()
		if e.Field == "" {
			e.Field = "form"
		}
		if targets == "" {
			e.Field, e.Error = "targets", "请选择喊话范围"
		}
		say(map[string]string{"error": e.Error, "field": e.Field})
		ws.Close(websocket.StatusNormalClosure, "refused")
		return
	}
	var opened struct {
		ID        string `json:"id"`
		StreamKey string `json:"stream_key"`
		GRPC      string `json:"grpc"`
		GRPCCA    string `json:"grpc_ca"`
	}
	if err := ans.Decode(&opened); err != nil {
		say(map[string]string{"error": "系统内部错误，请联系管理员", "field": "form"})
		return
	}
	conn, err := c.dial(opened.GRPC, opened.GRPCCA)
	if err != nil {
		c.log.Error("console shout: dial", "broadcast", opened.ID, "err", err)
		say(map[string]string{"error": "喊话服务连接失败，请联系管理员", "field": "form"})
		return
	}
	defer conn.Close()
	say(map[string]string{"id": opened.ID})
	c.log.Info("console shout started", "broadcast", opened.ID, "by", u.Name)

	pr, pw := io.Pipe()
	go relayMicrophone(ctx, ws, pw)
	res, err := live.Speak(ctx, conn, live.Opened{ID: opened.ID, StreamKey: opened.StreamKey}, live.Speech{Source: pr})
	pr.Close()
	if err != nil {
		c.log.Warn("console shout lost", "broadcast", opened.ID, "err", err)
		say(map[string]string{"error": "喊话中断：" + err.Error(), "field": "form"})
		return
	}
	say(map[string]any{"done": true, "id": opened.ID, "frames": res.Frames, "seconds": float64(res.DurationMs) / 1000})
	ws.Close(websocket.StatusNormalClosure, "done")
}

// relayMicrophone copies the browser's PCM messages into pw until "stop", the socket's end or
// shoutIdle of silence from the browser; then it closes pw, which ends the shout cleanly.
func relayMicrophone(ctx context.Context, ws *websocket.Conn, pw *io.PipeWriter) {
	defer pw.Close()
	for {
		rctx, cancel := context.WithTimeout(ctx, shoutIdle)
		typ, b, err := ws.Read(rctx)
		cancel()
		if err != nil || typ == websocket.MessageText {
			return // "stop", or the page went away
		}
		if len(b)%2 != 0 {
			b = b[:len(b)-1] // whole 16-bit samples only
		}
		if _, err := pw.Write(b); err != nil {
			return // the shout ended (the speaker's stream closed the pipe)
		}
	}
}

// dial connects to the controller's gRPC address, over TLS when the API named a CA.
func (c *Console) dial(addr, caPEM string) (*grpc.ClientConn, error) {
	if c.dialGRPC != nil {
		return c.dialGRPC(addr, caPEM)
	}
	return nil, errors.New("no gRPC dialer configured")
}
