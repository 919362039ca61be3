// Package broker connects the controller to MQTT: an embedded mochi-mqtt broker by default, or a
// client of an external broker (Mosquitto, EMQX). Both look the same to the rest of the controller.
package broker

// Handler receives one message. It runs on the broker's or client's goroutine: return quickly.
type Handler func(topic string, payload []byte)

// Bus is the controller's view of MQTT.
type Bus interface {
	// Publish sends one message; with the embedded broker it is injected in-process.
	Publish(topic string, payload []byte, qos byte, retain bool) error
	// Subscribe delivers every message matching filter to h, also after reconnects.
	Subscribe(filter string, qos byte, h Handler) error
	// Addr is the broker address terminals connect to, as host:port.
	Addr() string
	Close() error
}
