package pahostore

import (
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// What resume does to what Get returns must not reach the packet the writer holds.
func TestGetHandsOutACopyOfAPublish(t *testing.T) {
	s := New()
	s.Open()
	defer s.Close()
	orig := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	orig.Qos, orig.MessageID, orig.TopicName, orig.Payload = 1, 7, "dalaba/v1/receipt/t001", []byte("x")
	s.Put("o.7", orig)
	got := s.Get("o.7").(*packets.PublishPacket)
	got.Dup = true
	if orig.Dup {
		t.Fatal("marking the stored copy a duplicate changed the packet being sent")
	}
	if got.MessageID != 7 || got.TopicName != orig.TopicName || string(got.Payload) != "x" || got.Qos != 1 {
		t.Fatalf("copy %+v differs from the stored publish", got)
	}
}
