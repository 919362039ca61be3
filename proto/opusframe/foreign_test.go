package opusframe_test

import (
	"gopkg.in/hraban/opus.v2"

	"dalaba/proto/wire"
)

// opusFrame40 encodes 40 ms of PCM as one packet, as a client not following the protocol might.
func opusFrame40(pcm []byte) ([]byte, error) {
	enc, err := opus.NewEncoder(wire.SampleRate, wire.Channels, opus.AppVoIP)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1500)
	n, err := enc.Encode(make([]int16, len(pcm)/2), out)
	return out[:n], err
}
