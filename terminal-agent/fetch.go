package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// errBadAudio is audio that arrived but is not what the command promised; retrying won't help.
var errBadAudio = errors.New("bad audio")

// fetcher gets programs from the controller's audio service.
type fetcher struct {
	audio      dalabapb.AudioServiceClient
	terminalID string
	clock      timeline
	now        func() time.Time
}

// fetch downloads the whole program before anything plays, so a slow link never makes the
// horn stutter. Transient failures are retried until the validity window closes.
func (p *fetcher) fetch(ctx context.Context, cmd *dalabapb.PlayCommand) ([]byte, error) {
	until := p.clock.ToLocal(time.UnixMilli(cmd.ValidUntilUnixMs)).Sub(p.now())
	ctx, cancel := context.WithTimeout(ctx, until)
	defer cancel()
	backoff := 200 * time.Millisecond
	for {
		pcm, retryable, err := p.fetchOnce(ctx, cmd)
		if err == nil || !retryable {
			return pcm, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("fetch program %s: %w (last error: %v)", cmd.ProgramId, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (p *fetcher) fetchOnce(ctx context.Context, cmd *dalabapb.PlayCommand) (pcm []byte, retryable bool, err error) {
	stream, err := p.audio.Fetch(ctx, &dalabapb.FetchRequest{ProgramId: cmd.ProgramId,
		TerminalId: p.terminalID, BroadcastId: cmd.BroadcastId})
	if err != nil {
		return nil, true, fmt.Errorf("fetch program %s: %w", cmd.ProgramId, err)
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, retryableRPC(err), fmt.Errorf("fetch program %s: %w", cmd.ProgramId, err)
	}
	h := first.GetHeader()
	if h == nil || !proto.Equal(h.GetFormat(), wire.Format()) {
		return nil, false, fmt.Errorf("%w: program %s: format %v, want %v", errBadAudio, cmd.ProgramId, h.GetFormat(), wire.Format())
	}
	if h.TotalBytes != cmd.ProgramBytes {
		return nil, false, fmt.Errorf("%w: program %s: %d bytes offered, command says %d", errBadAudio, cmd.ProgramId, h.TotalBytes, cmd.ProgramBytes)
	}
	buf := bytes.NewBuffer(make([]byte, 0, h.TotalBytes))
	buf.Write(first.GetPcm())
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, retryableRPC(err), fmt.Errorf("fetch program %s: %w", cmd.ProgramId, err)
		}
		if int64(buf.Len()+len(chunk.GetPcm())) > h.TotalBytes {
			return nil, false, fmt.Errorf("%w: program %s: more than the %d bytes announced", errBadAudio, cmd.ProgramId, h.TotalBytes)
		}
		buf.Write(chunk.GetPcm())
	}
	if int64(buf.Len()) != h.TotalBytes {
		return nil, false, fmt.Errorf("%w: program %s: got %d of %d bytes", errBadAudio, cmd.ProgramId, buf.Len(), h.TotalBytes)
	}
	sum := sha256.Sum256(buf.Bytes())
	if got := hex.EncodeToString(sum[:]); got != cmd.ProgramId {
		return nil, false, fmt.Errorf("%w: program %s: content hash is %s", errBadAudio, cmd.ProgramId, got)
	}
	return buf.Bytes(), false, nil
}

func retryableRPC(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Internal, codes.Unknown:
		return true
	}
	return false
}
