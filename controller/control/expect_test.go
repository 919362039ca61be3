package control

import "dalaba/proto/dalabapb"

// expect registers a command to terminal waiting for reply id, as Send does.
func (rm *Remote) expect(id, terminal string) chan *dalabapb.ControlReply {
	ch := make(chan *dalabapb.ControlReply, 1)
	rm.mu.Lock()
	rm.waiting[id] = waiter{terminal: terminal, answer: ch}
	rm.mu.Unlock()
	return ch
}
