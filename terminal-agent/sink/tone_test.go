package sink

import (
	"encoding/binary"
	"math"
	"time"

	"dalaba/proto/wire"
)

// tone is a system-format sine at hz and amplitude amp (0..1 of full scale). The phase starts
// a quarter of a sample in, so that no sample of a tone at a divisor of the rate lands on zero
// (which would not count as loud) while the peak stays within 0.5% of amp.
func tone(hz, amp float64, d time.Duration) []byte {
	n := int(int64(d) * wire.SampleRate / int64(time.Second))
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		v := amp * 32767 * math.Sin(2*math.Pi*hz*(float64(i)+0.25)/wire.SampleRate)
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(math.Round(v))))
	}
	return b
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }
