// Package opusframe is the Opus codec as live shouting uses it: 20 ms frames of system-format
// audio (wire.SampleRate Hz, mono, signed 16-bit), encoded for speech by the speaker's client
// and decoded, with loss concealment, by each terminal. libopus through gopkg.in/hraban/opus.v2.
package opusframe

import (
	"encoding/binary"
	"fmt"
	"time"

	"gopkg.in/hraban/opus.v2"

	"dalaba/proto/wire"
)

const (
	// Duration is one frame's length: 20 ms, Opus's usual frame for speech.
	Duration = 20 * time.Millisecond
	// Samples is one frame's samples at the system rate (mono).
	Samples = wire.SampleRate * int(Duration/time.Millisecond) / 1000
	// PCMBytes is one frame of system-format PCM.
	PCMBytes = Samples * wire.Channels * 2
	// MaxPacket is the largest Opus packet (RFC 6716, 3.4: 1275 bytes per frame).
	MaxPacket = 1275
	// Bitrate is the encoder's target. 24 kbit/s keeps Mandarin speech clear at 16 kHz; with
	// the gRPC and TCP framing each frame carries, a listener's link stays under 32 kbit/s.
	Bitrate = 24000
)

// Encoder turns 20 ms frames of system-format PCM into Opus packets. Not safe for
// concurrent use.
type Encoder struct {
	enc *opus.Encoder
	pcm []int16
	out []byte
}

// NewEncoder returns an encoder tuned for speech (Application VoIP) at bitrate bits per
// second; 0 means Bitrate. libopus's variable bitrate (the binding has no switch for it)
// averages a little under the target on speech. Discontinuous transmission stays off: every
// frame is sent, so a missing one always means loss.
func NewEncoder(bitrate int) (*Encoder, error) {
	if bitrate == 0 {
		bitrate = Bitrate
	}
	if bitrate < 6000 || bitrate > 64000 {
		return nil, fmt.Errorf("opus bitrate %d: want 6000 to 64000 bit/s for speech", bitrate)
	}
	enc, err := opus.NewEncoder(wire.SampleRate, wire.Channels, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	if err := enc.SetBitrate(bitrate); err != nil {
		return nil, fmt.Errorf("opus encoder bitrate %d: %w", bitrate, err)
	}
	if err := enc.SetMaxBandwidth(opus.Wideband); err != nil { // 8 kHz audio band: all 16 kHz carries
		return nil, fmt.Errorf("opus encoder bandwidth: %w", err)
	}
	return &Encoder{enc: enc, pcm: make([]int16, Samples), out: make([]byte, MaxPacket)}, nil
}

// Encode encodes exactly one frame (PCMBytes of system-format PCM). The packet returned is
// the encoder's buffer, valid until the next call.
func (e *Encoder) Encode(frame []byte) ([]byte, error) {
	if len(frame) != PCMBytes {
		return nil, fmt.Errorf("opus encode: frame of %d bytes, want %d (20 ms at %d Hz mono)", len(frame), PCMBytes, wire.SampleRate)
	}
	for i := range e.pcm {
		e.pcm[i] = int16(binary.LittleEndian.Uint16(frame[2*i:]))
	}
	n, err := e.enc.Encode(e.pcm, e.out)
	if err != nil {
		return nil, fmt.Errorf("opus encode: %w", err)
	}
	return e.out[:n], nil
}

// Decoder turns Opus packets back into 20 ms frames of system-format PCM, and invents a
// plausible frame (packet loss concealment) for one that never came. Not safe for concurrent
// use.
type Decoder struct {
	dec *opus.Decoder
	pcm []int16
	out []byte
}

// NewDecoder returns a decoder at the system rate, mono.
func NewDecoder() (*Decoder, error) {
	dec, err := opus.NewDecoder(wire.SampleRate, wire.Channels)
	if err != nil {
		return nil, fmt.Errorf("opus decoder: %w", err)
	}
	// Room for the longest Opus frame (120 ms), so a peer sending longer frames is refused
	// cleanly below rather than overrunning.
	return &Decoder{dec: dec, pcm: make([]int16, 6*Samples), out: make([]byte, PCMBytes)}, nil
}

// Decode decodes one packet into one frame of system-format PCM (the decoder's buffer, valid
// until the next call). A packet that is not a 20 ms Opus frame is an error.
func (d *Decoder) Decode(packet []byte) ([]byte, error) {
	if len(packet) == 0 || len(packet) > MaxPacket {
		return nil, fmt.Errorf("opus decode: packet of %d bytes, want 1 to %d", len(packet), MaxPacket)
	}
	n, err := d.dec.Decode(packet, d.pcm)
	if err != nil {
		return nil, fmt.Errorf("opus decode: %w", err)
	}
	if n != Samples {
		return nil, fmt.Errorf("opus decode: packet holds %d samples, want %d (20 ms frames only)", n, Samples)
	}
	return d.bytes(), nil
}

// Conceal returns a frame standing in for a lost one: Opus's loss concealment continues the
// last sound and fades it out over successive losses.
func (d *Decoder) Conceal() ([]byte, error) {
	if err := d.dec.DecodePLC(d.pcm[:Samples]); err != nil {
		return nil, fmt.Errorf("opus concealment: %w", err)
	}
	return d.bytes(), nil
}

func (d *Decoder) bytes() []byte {
	for i, v := range d.pcm[:Samples] {
		binary.LittleEndian.PutUint16(d.out[2*i:], uint16(v))
	}
	return d.out
}
