package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// users: ebctl users add (or create) --name N --role editor|reviewer|admin [--scope ADDR]
// [--display-name D] [--password P], list, set NAME [--role R] [--scope S] [--display-name D],
// disable NAME, enable NAME, reset-password NAME [--password P]. Admins only.
func users(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ebctl users add|list|set|disable|enable|reset-password")
	}
	switch args[0] {
	case "add", "create":
		return usersAdd(args[1:])
	case "list":
		return usersList(args[1:])
	case "set":
		return usersSet(args[1:])
	case "disable", "enable":
		return usersDisable(args[1:], args[0] == "disable")
	case "reset-password":
		return usersResetPassword(args[1:])
	}
	return fmt.Errorf("unknown users command %q (want add, list, set, disable, enable or reset-password)", args[0])
}

type staffUser struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	Scope       string    `json:"scope"`
	ScopeName   string    `json:"scope_name"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
	Disabled    bool      `json:"disabled"`
}

func usersAdd(args []string) error {
	fs := flag.NewFlagSet("users add", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	name := fs.String("name", "", "login name: letters, digits, _ . - (required)")
	display := fs.String("display-name", "", "name shown to staff, e.g. 王书记")
	role := fs.String("role", "", "editor (drafts), reviewer (approves) or admin (required)")
	password := fs.String("password", "", "initial password, at least 8 characters (default: read from stdin)")
	scope := fs.String("scope", "", "where their emergencies and shouts may reach: town:CODE, village:CODE or group:CODE (default: the town)")
	fs.Parse(args)
	if *name == "" || *role == "" {
		return errors.New("--name and --role are required")
	}
	pw := *password
	if pw == "" {
		var err error
		if pw, err = readPassword(); err != nil {
			return err
		}
	}
	var u staffUser
	body := map[string]string{"name": *name, "display_name": *display, "role": *role, "password": pw, "scope": *scope}
	if err := staffRequest(*server, "POST", "/api/v1/users", body, &u); err != nil {
		return err
	}
	fmt.Printf("已添加用户：%s（%s），角色 %s，广播范围 %s\n", u.Name, u.DisplayName, roleName(u.Role), scopeText(u))
	return nil
}

func usersList(args []string) error {
	server := serverFlag("users list", args)
	var list []staffUser
	if err := staffRequest(server, "GET", "/api/v1/users", nil, &list); err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "用户名\t姓名\t角色\t广播范围\t状态\t添加时间\t添加人")
	for _, u := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.DisplayName, roleName(u.Role), scopeText(u), stateText(u),
			u.CreatedAt.Local().Format("2006-01-02 15:04"), u.CreatedBy)
	}
	w.Flush()
	fmt.Printf("共 %d 个用户\n", len(list))
	return nil
}

// scopeText is a user's scope as 曹溪村（village:361126104201）, or 未设置 when none was set.
func scopeText(u staffUser) string {
	switch {
	case u.Scope == "":
		return "未设置"
	case u.ScopeName == "" || u.ScopeName == u.Scope:
		return u.Scope
	}
	return u.ScopeName + "（" + u.Scope + "）"
}

func stateText(u staffUser) string {
	if u.Disabled {
		return "已停用"
	}
	return "正常"
}

// userArgs splits `NAME [flags]` or `[flags] NAME`: the user name and the flags.
func userArgs(cmd string, args []string) (string, []string, error) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:], nil
	}
	if n := len(args); n > 0 && !strings.HasPrefix(args[n-1], "-") {
		return args[n-1], args[:n-1], nil
	}
	return "", nil, fmt.Errorf("usage: ebctl users %s NAME ...", cmd)
}

func usersSet(args []string) error {
	name, rest, err := userArgs("set", args)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("users set", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	role := fs.String("role", "", "editor, reviewer or admin")
	scope := fs.String("scope", "", "town:CODE, village:CODE or group:CODE")
	display := fs.String("display-name", "", "name shown to staff")
	fs.Parse(rest)
	body := map[string]string{}
	for k, v := range map[string]string{"role": *role, "scope": *scope, "display_name": *display} {
		if v != "" {
			body[k] = v
		}
	}
	if len(body) == 0 {
		return errors.New("give at least one of --role, --scope, --display-name")
	}
	var u staffUser
	if err := staffRequest(*server, "PATCH", "/api/v1/users/"+url.PathEscape(name), body, &u); err != nil {
		return err
	}
	fmt.Printf("已修改用户：%s（%s），角色 %s，广播范围 %s\n", u.Name, u.DisplayName, roleName(u.Role), scopeText(u))
	return nil
}

func usersDisable(args []string, disable bool) error {
	cmd := map[bool]string{true: "disable", false: "enable"}[disable]
	name, rest, err := userArgs(cmd, args)
	if err != nil {
		return err
	}
	server := serverFlag("users "+cmd, rest)
	var u staffUser
	if err := staffRequest(server, "PATCH", "/api/v1/users/"+url.PathEscape(name), map[string]bool{"disabled": disable}, &u); err != nil {
		return err
	}
	if disable {
		fmt.Printf("已停用用户：%s（%s），其登录已全部失效\n", u.Name, u.DisplayName)
	} else {
		fmt.Printf("已启用用户：%s（%s）\n", u.Name, u.DisplayName)
	}
	return nil
}

func usersResetPassword(args []string) error {
	name, rest, err := userArgs("reset-password", args)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("users reset-password", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	password := fs.String("password", "", "the new password (default: read from stdin)")
	fs.Parse(rest)
	pw := *password
	if pw == "" {
		if pw, err = readPassword(); err != nil {
			return err
		}
	}
	var out struct{}
	if err := staffRequest(*server, "POST", "/api/v1/users/"+url.PathEscape(name)+"/password", map[string]string{"password": pw}, &out); err != nil {
		return err
	}
	fmt.Printf("已重置用户 %s 的密码；其登录已全部失效，账号锁定已解除\n", name)
	return nil
}
