// Package tts turns announcement text into programs in the system audio format: a text front
// end (Normalize) that writes numbers, dates and phone numbers as the words to be said, voices
// defined as files in tts-voices/, speech engines behind the Engine interface (espeak-ng today;
// a neural engine can be added beside it), and a Synthesizer that converts and caches the
// result as wire.SampleRate mono PCM.
package tts
