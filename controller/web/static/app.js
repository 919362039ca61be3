// The console's few scripts: TTS preview, confirmation of destructive buttons, the live report,
// and live shouting. Everything works without them but the preview, the report's updates and
// the microphone.
"use strict";
(function () {
  const main = document.querySelector("main");
  const csrf = main ? main.dataset.csrf : "";

  // Forms that ask first (cancel a broadcast, delete a schedule).
  // Delegated, so forms the live report puts in later ask too.
  document.addEventListener("submit", (e) => {
    const f = e.target.closest("form[data-confirm]");
    if (f && !window.confirm(f.dataset.confirm)) e.preventDefault();
  });

  // TTS preview: the text as it will be spoken, played here.
  const preview = document.getElementById("preview");
  if (preview) {
    preview.addEventListener("click", async () => {
      const status = document.getElementById("preview-status");
      const player = document.getElementById("preview-audio");
      status.textContent = "正在合成语音…";
      const body = new URLSearchParams({ text: document.getElementById("text").value });
      const resp = await fetch("/tts-preview", { method: "POST", body, headers: { "X-CSRF-Token": csrf } });
      if (!resp.ok) { status.textContent = await resp.text(); return; }
      const blob = await resp.blob();
      if (player.src) URL.revokeObjectURL(player.src);
      player.src = URL.createObjectURL(blob);
      player.hidden = false;
      status.textContent = "合成完成，可以试听。";
      player.dataset.bytes = String(blob.size);
      player.play().catch(() => {});
    });
  }

  // The live report: re-read the changing part every second while the broadcast is open.
  const live = document.getElementById("live");
  if (live && live.dataset.poll) {
    const tick = async () => {
      const resp = await fetch(live.dataset.poll, { headers: { "X-Requested-With": "fetch" } }).catch(() => null);
      if (resp && resp.ok) {
        live.innerHTML = await resp.text();
        const st = document.getElementById("report-state");
        if (st && (st.dataset.state === "finished" || st.dataset.state === "cancelled")) return;
      }
      setTimeout(tick, 1000);
    };
    setTimeout(tick, 1000);
  }

  const shout = document.getElementById("shout-form");
  if (shout) setUpShout(shout, csrf);
})();

// Live shouting: microphone -> AudioWorklet (16 kHz, 20 ms frames of s16le) -> WebSocket.
function setUpShout(form, csrf) {
  const start = document.getElementById("shout-start");
  const stop = document.getElementById("shout-stop");
  const status = document.getElementById("shout-status");
  const error = document.getElementById("shout-error");
  const level = document.getElementById("shout-level");
  let ws = null, ctx = null, stream = null;
  const fail = (msg) => { error.textContent = msg; error.hidden = false; };
  const cleanup = () => {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    if (ctx) ctx.close();
    stream = ctx = null;
    start.disabled = false; stop.disabled = true;
  };
  start.addEventListener("click", async () => {
    error.hidden = true;
    const targets = [...form.querySelectorAll("input[name=targets]:checked")].map((i) => i.value);
    if (targets.length === 0) { fail("请选择喊话范围"); return; }
    start.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
      ctx = new AudioContext({ sampleRate: 16000 });
      await ctx.audioWorklet.addModule("/static/shout-worklet.js");
    } catch (e) {
      cleanup();
      fail("无法使用麦克风：" + e.message);
      return;
    }
    const q = new URLSearchParams({ csrf, title: document.getElementById("shout-title").value });
    targets.forEach((t) => q.append("targets", t));
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + form.dataset.ws + "?" + q);
    ws.binaryType = "arraybuffer";
    let node = null;
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.error) { fail(m.error); cleanup(); return; }
      if (m.done) { status.textContent = "喊话结束：" + m.seconds.toFixed(1) + " 秒"; status.dataset.done = m.id; cleanup(); return; }
      if (m.id) {
        status.textContent = "正在喊话…（编号 " + m.id + "）";
        status.dataset.id = m.id;
        stop.disabled = false;
        const src = ctx.createMediaStreamSource(stream);
        node = new AudioWorkletNode(ctx, "shout-frames");
        node.port.onmessage = (e) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(e.data.pcm);
          level.value = e.data.peak;
        };
        src.connect(node);
      }
    };
    ws.onclose = () => { if (!status.dataset.done) cleanup(); };
    stop.onclick = () => {
      stop.disabled = true;
      if (node) node.disconnect();
      if (ws.readyState === WebSocket.OPEN) ws.send("stop");
      status.textContent = "正在结束…";
    };
  });
}
