package schedule

import "testing"

// Schedule files and API requests are outside input: no file or expression may panic, and a
// file either yields checked schedules or a FileError.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte(goodFile))
	f.Add([]byte("schedules:\n  - id: x\n    at: 2025-03-11 08:00\n    to: [a, b]\n"))
	f.Add([]byte("schedules: [{id: x, cron: '@daily', grace: 1h}]\n---\n"))
	now := at(shanghai, 2025, 3, 10, 8, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		defs, err := parseFile("f.yaml", b)
		if err != nil {
			return
		}
		for _, d := range defs {
			if s, err := d.Def.check(DefaultZone, now); err == nil {
				s.Next(now)
			}
		}
	})
}

func FuzzCronAndAt(f *testing.F) {
	for _, s := range []string{"30 7 * * *", "@monthly", "0 0 29 2 *", "*/7 1-5 * * MON-FRI", "2025-03-10 07:30", "2025-03-10T07:30:00Z"} {
		f.Add(s)
	}
	now := at(shanghai, 2025, 3, 10, 8, 0)
	f.Fuzz(func(t *testing.T, s string) {
		if ct, err := parseCron(s, shanghai, now); err == nil {
			if n := ct.next(now); !n.After(now) {
				t.Fatalf("%q: next %v not after %v", s, n, now)
			}
		}
		if a, err := parseAt(s, shanghai); err == nil && a.Location() != shanghai {
			t.Fatalf("%q: read in zone %v", s, a.Location())
		}
	})
}
