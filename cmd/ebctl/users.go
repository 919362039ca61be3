package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"
)

// users: ebctl users add (or create) --name N --role editor|reviewer|admin [--scope ADDR]
// [--display-name D] [--password P], ebctl users list. Admins only.
func users(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ebctl users add|list")
	}
	switch args[0] {
	case "add", "create":
		return usersAdd(args[1:])
	case "list":
		return usersList(args[1:])
	}
	return fmt.Errorf("unknown users command %q (want add or list)", args[0])
}

type staffUser struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	Scope       string    `json:"scope"`
	ScopeName   string    `json:"scope_name"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
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
	fmt.Fprintln(w, "用户名\t姓名\t角色\t广播范围\t添加时间\t添加人")
	for _, u := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.DisplayName, roleName(u.Role), scopeText(u), u.CreatedAt.Local().Format("2006-01-02 15:04"), u.CreatedBy)
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
