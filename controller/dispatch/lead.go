package dispatch

import "time"

// Every terminal starts a program at the same instant, PlayAt on the controller's clock, so
// that horns within earshot of each other do not echo. The lead before that instant must cover
// the command's fan-out and every terminal's fetch of the program; a terminal that is still
// late starts at once (and reports how late).
const (
	// DefaultBaseLead covers MQTT fan-out, the agents' scheduling and the first fetch round
	// trip: on this machine a town of 125 has every terminal fetched within about 60 ms (p99).
	// Slow links (a village on a mobile data plan) want more: Dispatcher.BaseLead.
	DefaultBaseLead = 150 * time.Millisecond
	// fetchRate is a conservative aggregate rate at which the audio service serves programs.
	fetchRate = 400 << 20 // bytes per second
	maxLead   = 5 * time.Second
)

// startLead is how long after sending a program all terminals start it. A live shout needs
// none here: its frames carry their own play times.
func startLead(base time.Duration, programBytes int64, terminals int, live bool) time.Duration {
	if live {
		return 0
	}
	if base <= 0 {
		base = DefaultBaseLead
	}
	fetch := time.Duration(float64(programBytes) * float64(terminals) / fetchRate * float64(time.Second))
	return min(base+fetch, maxLead)
}
