package schedule

import (
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Targets are addresses as text. A file or request may give them as a list or as one
// comma-separated string; both read the same.
type Targets []string

func splitTargets(s string) Targets {
	var out Targets
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// UnmarshalYAML accepts `to: village:1` and `to: [village:1, group:2]`.
func (t *Targets) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*t = splitTargets(n.Value)
		return nil
	case yaml.SequenceNode:
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		*t = nil
		for _, s := range list {
			*t = append(*t, splitTargets(s)...)
		}
		return nil
	}
	return fmt.Errorf("line %d: to: want an address or a list of addresses", n.Line)
}

// UnmarshalJSON accepts "village:1,group:2" and ["village:1", "group:2"].
func (t *Targets) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = splitTargets(s)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("to: want an address or a list of addresses")
	}
	*t = nil
	for _, s := range list {
		*t = append(*t, splitTargets(s)...)
	}
	return nil
}
