package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"
)

// login: ebctl login --user NAME [--password P]; without --password it is read from stdin
// (asked for without echo on a terminal). The token goes to $XDG_CONFIG_HOME/dalaba/token.
func login(args []string) error {
	fs := flag.NewFlagSet("login", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	user := fs.String("user", "", "user name (required)")
	password := fs.String("password", "", "password (default: read from stdin)")
	fs.Parse(args)
	if *user == "" {
		return errors.New("--user is required")
	}
	pw := *password
	if pw == "" {
		var err error
		if pw, err = readPassword(); err != nil {
			return err
		}
	}
	var s struct {
		Token       string    `json:"token"`
		ExpiresAt   time.Time `json:"expires_at"`
		Role        string    `json:"role"`
		DisplayName string    `json:"display_name"`
	}
	body, err := json.Marshal(map[string]string{"name": *user, "password": pw})
	if err != nil {
		return err
	}
	resp, err := http.Post(*server+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	if err := decode(resp, &s); err != nil {
		return err
	}
	path, err := saveToken(s.Token)
	if err != nil {
		return err
	}
	fmt.Printf("已登录：%s（%s），有效期至 %s\n令牌保存在 %s\n", s.DisplayName, roleName(s.Role), s.ExpiresAt.Local().Format("2006-01-02 15:04"), path)
	return nil
}

// readPassword reads a password from the terminal without echo, or a line from piped stdin.
func readPassword() (string, error) { return newPasswordReader().read("密码：") }

func tokenPath() (string, error) {
	dir, err := os.UserConfigDir() // $XDG_CONFIG_HOME, else ~/.config
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "dalaba", "token"), nil
}

// saveToken writes the token readable by the user only, replacing the old one whole.
func saveToken(token string) (string, error) {
	path, err := tokenPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".token-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name()) // gone after the rename; cleans up if anything failed
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return "", err
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(f.Name(), path)
}

// loadToken is $DALABA_TOKEN, or the token ebctl login saved.
func loadToken() (string, error) {
	if t := os.Getenv("DALABA_TOKEN"); t != "" {
		return t, nil
	}
	path, err := tokenPath()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", errors.New("尚未登录：请先运行 ebctl login --user 用户名")
	}
	return strings.TrimSpace(string(b)), err
}

// staffRequest sends body as JSON with the saved token and decodes the answer into out.
func staffRequest(server, method, path string, body, out any) error {
	token, err := loadToken()
	if err != nil {
		return err
	}
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, server+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return decode(resp, out) // a 401 says how to log in again
}

func roleName(role string) string {
	return map[string]string{"editor": "撰稿人", "reviewer": "审核人", "admin": "管理员"}[role] + "/" + role
}

// logout: ebctl logout ends the saved session on the controller and forgets it here.
func logout(args []string) error {
	server := serverFlag("logout", args)
	var out struct {
		LoggedOut string `json:"logged_out"`
	}
	err := staffRequest(server, "POST", "/api/v1/logout", nil, &out)
	path, perr := tokenPath()
	if perr == nil {
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return rerr
		}
	}
	if err != nil {
		return fmt.Errorf("%w（本机保存的令牌已删除）", err)
	}
	fmt.Printf("已退出登录：%s\n", out.LoggedOut)
	return nil
}

// whoami: ebctl whoami shows the account of the saved session.
func whoami(args []string) error {
	server := serverFlag("whoami", args)
	var u staffUser
	if err := staffRequest(server, "GET", "/api/v1/me", nil, &u); err != nil {
		return err
	}
	fmt.Printf("%s（%s），角色 %s，广播范围 %s\n", u.Name, u.DisplayName, roleName(u.Role), scopeText(u))
	return nil
}

// passwd: ebctl passwd [--old P] [--new P] changes one's own password. Without the flags both
// are read from stdin (asked for without echo on a terminal, the new one twice).
func passwd(args []string) error {
	fs := flag.NewFlagSet("passwd", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	oldPw := fs.String("old", "", "current password (default: read from stdin)")
	newPw := fs.String("new", "", "new password: 8+ characters, two of letters, digits, symbols (default: read from stdin)")
	fs.Parse(args)
	in := newPasswordReader()
	var err error
	if *oldPw == "" {
		if *oldPw, err = in.read("原密码："); err != nil {
			return err
		}
	}
	if *newPw == "" {
		if *newPw, err = in.read("新密码："); err != nil {
			return err
		}
		if in.tty {
			again, err := in.read("再次输入新密码：")
			if err != nil {
				return err
			}
			if again != *newPw {
				return errors.New("两次输入的新密码不一致")
			}
		}
	}
	var out struct{}
	if err := staffRequest(*server, "POST", "/api/v1/me/password", map[string]string{"old_password": *oldPw, "new_password": *newPw}, &out); err != nil {
		return err
	}
	fmt.Println("密码已修改；其他设备上的登录已失效")
	return nil
}

// passwordReader reads passwords from the terminal without echo, or line by line from stdin.
type passwordReader struct {
	tty   bool
	lines *bufio.Reader
}

func newPasswordReader() *passwordReader {
	return &passwordReader{tty: term.IsTerminal(int(os.Stdin.Fd())), lines: bufio.NewReader(os.Stdin)}
}

func (p *passwordReader) read(prompt string) (string, error) {
	if p.tty {
		fmt.Fprint(os.Stderr, prompt)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		return string(b), err
	}
	line, err := p.lines.ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
