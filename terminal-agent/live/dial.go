package live

import "google.golang.org/grpc"

// flowWindow is the static HTTP/2 flow-control window of an agent's connection: large enough
// that program fetches run at full speed over a link with 50 ms round trips (20 MB/s).
const flowWindow = 1 << 20

// DialOptions are what an agent's gRPC connection to the controller should add to its dial.
// gRPC's default dynamic window has the receiver ping the sender after each burst of data, to
// estimate the bandwidth-delay product; a live stream is a burst every 20 ms, so that would be
// a ping and its answer per frame (about 30 bytes each way, 12 kbit/s), more than half again
// the Opus itself. Static windows send no such pings.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithStaticStreamWindowSize(flowWindow), grpc.WithStaticConnWindowSize(flowWindow)}
}
