package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"dalaba/proto/provision"
)

// terminalsCommand is `ebctl terminals` (the list), `terminals provision` and `terminals revoke`.
func terminalsCommand(args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "provision":
			return provisionTerminals(args[1:])
		case "revoke":
			return revokeTerminal(args[1:])
		}
	}
	return terminals(args)
}

// provisionTerminals mints a new token for each terminal (its old one stops working) and writes
// its provisioning file, DIR/<id>.json (mode 0600), to be copied to the terminal. The token is
// shown this once: the controller keeps only its hash.
func provisionTerminals(args []string) error {
	fs := flag.NewFlagSet("terminals provision", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	out := fs.String("out", "provision", "directory to write each terminal's provisioning file into")
	all := fs.Bool("all", false, "every terminal in your scope")
	fs.Parse(args)
	ids := fs.Args()
	if *all {
		var ts []terminal
		if err := staffRequest(*server, "GET", "/api/v1/terminals", nil, &ts); err != nil {
			return err
		}
		for _, t := range ts {
			ids = append(ids, t.ID)
		}
	}
	if len(ids) == 0 {
		return errors.New("用法：ebctl terminals provision [--out DIR] [--all] TERMINAL_ID...")
	}
	var res struct {
		Bundles []provision.Bundle `json:"bundles"`
	}
	if err := staffRequest(*server, "POST", "/api/v1/terminals/provision", map[string]any{"terminals": ids}, &res); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	for _, b := range res.Bundles {
		path := filepath.Join(*out, b.Terminal+".json")
		if err := provision.Write(path, b); err != nil {
			return fmt.Errorf("已签发但未能写入 %s（该终端需重新签发）：%w", path, err)
		}
		fmt.Printf("已签发 %s → %s\n", b.Terminal, path)
	}
	fmt.Printf("共 %d 个终端；凭据只显示这一次，旧凭据已失效。终端用法：terminal-agent --provision FILE\n", len(res.Bundles))
	return nil
}

// revokeTerminal: `ebctl terminals revoke ID`: the terminal is cut off from the broker at once
// and refused until provisioned again.
func revokeTerminal(args []string) error {
	fs := flag.NewFlagSet("terminals revoke", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	fs.Parse(args)
	if fs.NArg() != 1 {
		return errors.New("用法：ebctl terminals revoke TERMINAL_ID")
	}
	id := fs.Arg(0)
	var res map[string]any
	if err := staffRequest(*server, "POST", "/api/v1/terminals/"+id+"/revoke", nil, &res); err != nil {
		return err
	}
	fmt.Printf("已吊销终端 %s 的凭据：已断开，重新签发前不能再连接\n", id)
	return nil
}
