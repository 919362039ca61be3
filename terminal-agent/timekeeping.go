package agent

import (
	"context"
	"time"

	"google.golang.org/grpc"

	"dalaba/proto/dalabapb"
	"dalaba/terminal-agent/clock"
)

// now is the agent's clock: real time, shifted by the simulated offset if any.
func (o Options) now() func() time.Time {
	if o.ClockOffset == 0 {
		return time.Now
	}
	off := o.ClockOffset
	return func() time.Time { return time.Now().Add(off) }
}

// newEstimator estimates the controller's clock by probing its audio service: the same gRPC
// connection the audio comes over.
func newEstimator(conn grpc.ClientConnInterface, o Options, now func() time.Time) *clock.Estimator {
	audio := dalabapb.NewAudioServiceClient(conn)
	probe := func(ctx context.Context, t1 time.Time) (time.Time, time.Time, error) {
		r, err := audio.Clock(ctx, &dalabapb.ClockRequest{ClientSendUnixUs: t1.UnixMicro()})
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		return time.UnixMicro(r.GetServerRecvUnixUs()), time.UnixMicro(r.GetServerSendUnixUs()), nil
	}
	return clock.New(probe, clock.Options{Now: now, Burst: o.ClockBurst, Fill: o.ClockFill, Every: o.ClockProbeEvery, Log: o.Logger})
}
