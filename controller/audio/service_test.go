package audio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"dalaba/proto/dalabapb"
	"dalaba/proto/wire"
)

// recordingService is the real Service, with its Fetch results reported to the test.
type recordingService struct {
	*Service
	done chan error
}

func (r recordingService) Fetch(req *dalabapb.FetchRequest, s grpc.ServerStreamingServer[dalabapb.AudioChunk]) error {
	err := r.Service.Fetch(req, s)
	r.done <- err
	return err
}

// startService serves p on a loopback port and returns a client and the server's results.
func startService(t *testing.T, p *Programs, opts ...grpc.DialOption) (dalabapb.AudioServiceClient, <-chan error) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	done := make(chan error, 16)
	dalabapb.RegisterAudioServiceServer(srv, recordingService{NewService(p), done})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)

	opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	conn, err := grpc.NewClient(lis.Addr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return dalabapb.NewAudioServiceClient(conn), done
}

func TestServiceFetch(t *testing.T) {
	p, _, _ := newTestPrograms(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tests := []struct {
		name       string
		pcm        []byte
		wantChunks int
	}{
		{"one chunk", tonePCM(1000, 100*time.Millisecond), 1},                  // 3,200 bytes
		{"exact chunks", make([]byte, 2*ChunkBytes), 2},                        // no empty tail chunk
		{"several chunks", tonePCM(440, 3*time.Second+10*time.Millisecond), 3}, // 96,320 bytes
	}
	client, _ := startService(t, p)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := p.Put(ctx, tt.pcm, "test")
			if err != nil {
				t.Fatal(err)
			}
			stream, err := client.Fetch(ctx, &dalabapb.FetchRequest{ProgramId: prog.ID, TerminalId: "t1", BroadcastId: "b1"})
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			var header *dalabapb.AudioHeader
			chunks := 0
			for {
				c, err := stream.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Recv: %v", err)
				}
				if chunks == 0 {
					header = c.GetHeader()
				} else if c.GetHeader() != nil {
					t.Errorf("chunk %d carries a header too", chunks)
				}
				if len(c.GetPcm()) == 0 || len(c.GetPcm()) > ChunkBytes {
					t.Errorf("chunk %d has %d bytes of PCM, want 1..%d", chunks, len(c.GetPcm()), ChunkBytes)
				}
				got = append(got, c.GetPcm()...)
				chunks++
			}
			if header == nil {
				t.Fatal("first chunk has no header")
			}
			if !proto.Equal(header.GetFormat(), wire.Format()) {
				t.Errorf("format = %v, want %v", header.GetFormat(), wire.Format())
			}
			sum := sha256.Sum256(got)
			if header.GetTotalBytes() != int64(len(tt.pcm)) || header.GetSha256() != hex.EncodeToString(sum[:]) || header.GetSha256() != prog.ID {
				t.Errorf("header says %d bytes sha256 %s; got %d bytes sha256 %x (program %s)",
					header.GetTotalBytes(), header.GetSha256(), len(got), sum, prog.ID)
			}
			if !bytes.Equal(got, tt.pcm) {
				t.Error("reassembled PCM differs from the program")
			}
			if chunks != tt.wantChunks {
				t.Errorf("%d chunks, want %d", chunks, tt.wantChunks)
			}
		})
	}
}

func TestServiceFetchUnknown(t *testing.T) {
	p, _, _ := newTestPrograms(t)
	client, _ := startService(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, id := range []string{strings.Repeat("0", 64), "not-a-program"} {
		stream, err := client.Fetch(ctx, &dalabapb.FetchRequest{ProgramId: id})
		if err == nil {
			_, err = stream.Recv()
		}
		if status.Code(err) != codes.NotFound {
			t.Errorf("Fetch(%q): %v, want NotFound", id, err)
		}
	}
}

func TestServiceFetchStopsWhenClientCancels(t *testing.T) {
	p, _, _ := newTestPrograms(t)
	// A fixed 64 KiB window (no BDP growth) keeps the server blocked in Send until we read.
	client, done := startService(t, p, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	prog, err := p.Put(context.Background(), make([]byte, 4<<20), "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := client.Fetch(ctx, &dalabapb.FetchRequest{ProgramId: prog.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("server Fetch finished a 4 MiB stream after the client cancelled")
		}
		// Either our ctx check or Send's error ends it; both must say the client cancelled.
		if c := status.Code(err); c != codes.Canceled {
			t.Fatalf("server Fetch returned %v (code %v), want codes.Canceled", err, c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server Fetch still running 5s after the client cancelled")
	}
}
