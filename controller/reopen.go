package controller

import (
	"dalaba/controller/audio"
	"dalaba/controller/receipts"
)

// programFacts reads a stored program's size and peak for a broadcast reopened at start.
func programFacts(programs *audio.Programs) receipts.ProgramFacts {
	return func(id string) (int64, float64, error) {
		pcm, err := programs.Get(id)
		if err != nil {
			return 0, 0, err
		}
		return int64(len(pcm)), audio.Peak(pcm), nil
	}
}
