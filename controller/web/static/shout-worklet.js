// Cuts the microphone (the AudioContext runs at 16 kHz) into 20 ms frames of 16-bit PCM.
"use strict";
class ShoutFrames extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Int16Array(320);
    this.n = 0;
    this.peak = 0;
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    for (let i = 0; i < ch.length; i++) {
      const s = Math.max(-1, Math.min(1, ch[i]));
      this.peak = Math.max(this.peak, Math.abs(s));
      this.frame[this.n++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.n === this.frame.length) {
        const pcm = this.frame.buffer.slice(0);
        this.port.postMessage({ pcm, peak: this.peak }, [pcm]);
        this.n = 0;
        this.peak = 0;
      }
    }
    return true;
  }
}
registerProcessor("shout-frames", ShoutFrames);
