package review

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// clock is a settable time for the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func lockoutService(t *testing.T) (*Service, *clock) {
	t.Helper()
	s := newService(t, Options{})
	clk := &clock{t: time.Date(2026, 7, 1, 9, 0, 0, 0, time.Local)}
	s.now = clk.now
	if _, err := s.CreateUser(context.Background(), User{Name: "admin", Role: Admin}, NewUser{Name: "li", Role: Editor, Password: "li-password"}); err != nil {
		t.Fatal(err)
	}
	return s, clk
}

// Five failures within the window lock the name for LockFor, the right password included;
// the lock ends on time; failures older than the window do not count.
func TestLockoutLocksANameForAWhile(t *testing.T) {
	s, clk := lockoutService(t)
	ctx := context.Background()
	for i := 1; i <= 4; i++ {
		if _, err := s.LoginFrom(ctx, "li", "wrong-password1", "10.0.0.1"); kindOf(err) != Unauthorized {
			t.Fatalf("failure %d: %v, want Unauthorized", i, err)
		}
		clk.add(time.Minute)
	}
	_, err := s.LoginFrom(ctx, "li", "wrong-password1", "10.0.0.2")
	var e *Error
	if !errors.As(err, &e) || e.Kind != Locked || !e.RetryAt.Equal(clk.now().Add(15*time.Minute)) ||
		!strings.Contains(e.Message, "账号已锁定") || !strings.Contains(e.Message, clk.now().Add(15*time.Minute).Format("15:04:05")) {
		t.Fatalf("fifth failure: %#v, want Locked until 15 min from now, saying when", err)
	}
	clk.add(14 * time.Minute)
	if _, err := s.LoginFrom(ctx, "li", "li-password", "10.0.0.3"); kindOf(err) != Locked {
		t.Fatalf("right password while locked: %v, want Locked", err)
	}
	clk.add(time.Minute)
	if _, err := s.LoginFrom(ctx, "li", "li-password", "10.0.0.3"); err != nil {
		t.Fatalf("after the lock: %v", err)
	}

	// Four failures, then a fifth after the first four left the window: no lock.
	for i := 0; i < 4; i++ {
		s.LoginFrom(ctx, "li", "wrong-password1", "10.0.0.4")
	}
	clk.add(16 * time.Minute)
	if _, err := s.LoginFrom(ctx, "li", "wrong-password1", "10.0.0.4"); kindOf(err) != Unauthorized {
		t.Fatalf("a failure after old ones expired: %v, want Unauthorized", err)
	}
	if _, err := s.LoginFrom(ctx, "li", "li-password", "10.0.0.4"); err != nil {
		t.Fatalf("login: %v", err)
	}
}

// A name that does not exist is locked the same way: the lock tells nothing about who exists.
func TestLockoutTreatsUnknownNamesAlike(t *testing.T) {
	s, _ := lockoutService(t)
	ctx := context.Background()
	answers := map[string][]Kind{}
	for _, name := range []string{"li", "nobody"} {
		for i := 0; i < 6; i++ {
			_, err := s.LoginFrom(ctx, name, "wrong-password1", "")
			answers[name] = append(answers[name], kindOf(err))
		}
	}
	want := []Kind{Unauthorized, Unauthorized, Unauthorized, Unauthorized, Locked, Locked}
	for name, got := range answers {
		if len(got) != len(want) {
			t.Fatalf("%s: %v", name, got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: answers %v, want %v", name, got, want)
			}
		}
	}
}

// One address failing on many names is stopped at SourceFailures, for every name.
func TestLockoutLimitsAnAddress(t *testing.T) {
	s, clk := lockoutService(t)
	ctx := context.Background()
	for i := 1; i < 20; i++ {
		if _, err := s.LoginFrom(ctx, "user"+string(rune('a'+i)), "wrong-password1", "10.9.9.9"); kindOf(err) != Unauthorized {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	_, err := s.LoginFrom(ctx, "zz", "wrong-password1", "10.9.9.9")
	var e *Error
	if !errors.As(err, &e) || e.Kind != TooManyAttempts || !strings.Contains(e.Message, "此地址登录失败次数过多") {
		t.Fatalf("20th failure from one address: %v, want TooManyAttempts", err)
	}
	if _, err := s.LoginFrom(ctx, "li", "li-password", "10.9.9.9"); kindOf(err) != TooManyAttempts {
		t.Fatalf("right password from the locked address: %v", err)
	}
	if _, err := s.LoginFrom(ctx, "li", "li-password", "10.9.9.8"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	clk.add(15 * time.Minute)
	if _, err := s.LoginFrom(ctx, "li", "li-password", "10.9.9.9"); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
}

// Parallel guesses cannot outrun the count: of 20 at once, at most 5 are even checked.
func TestLockoutHoldsUnderParallelGuesses(t *testing.T) {
	s, _ := lockoutService(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	kinds := map[Kind]int{}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.LoginFrom(ctx, "li", "wrong-password1", "")
			mu.Lock()
			kinds[kindOf(err)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if kinds[Unauthorized] != 4 || kinds[Locked] != 16 {
		t.Fatalf("answers %v, want 4 wrong passwords and then 16 locked (the fifth starts the lock)", kinds)
	}
}

// A wrong name costs the same bcrypt work as a wrong password: the stand-in hash has the cost
// of the stored ones.
func TestUnknownNameComparesAgainstAnEqualCostHash(t *testing.T) {
	s, _ := lockoutService(t)
	_, hash, err := s.userWithHash(context.Background(), "li")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		t.Fatal(err)
	}
	dummy, err := bcrypt.Cost(dummyHash())
	if err != nil || dummy != stored || stored != bcryptCost {
		t.Fatalf("dummy hash cost %d (%v), stored %d, want both %d", dummy, err, stored, bcryptCost)
	}
	if defaultBcryptCost < bcrypt.DefaultCost {
		t.Fatalf("production bcrypt cost %d is below bcrypt's default %d", defaultBcryptCost, bcrypt.DefaultCost)
	}
}

func TestPasswordRules(t *testing.T) {
	for pw, says := range map[string]string{
		"short1":                      "至少 8 个字符",
		"abcdefghij":                  "至少两类",
		"1234567890":                  "至少两类",
		"wang2024x":                   "不能与用户名相同",
		"Password1":                   "过于常见",
		" leading-space1":             "首尾不能是空格",
		"tab\tinside-pw1":             "控制字符",
		strings.Repeat("长", 25) + "1": "72 字节",
	} {
		err := checkPassword("wang2024x", pw)
		var e *Error
		if !errors.As(err, &e) || e.Field != "password" || !strings.Contains(e.Message, says) {
			t.Errorf("password %q: %v, want a refusal saying %q", pw, err, says)
		}
	}
	for _, pw := range []string{"caoxi-admin-2026", "dalaba-demo", "li-password", "曹溪村2026年"} {
		if err := checkPassword("li", pw); err != nil {
			t.Errorf("password %q refused: %v", pw, err)
		}
	}
}
