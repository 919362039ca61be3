package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
)

// asPlayed writes a broadcast's as-played log (播出记录) as CSV, to stdout or a file.
func asPlayed(args []string) error {
	fs := flag.NewFlagSet("log", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	out := fs.String("out", "", "write the CSV to this file instead of standard output")
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return errors.New("usage: ebctl log BROADCAST_ID [--out FILE.csv]")
	}
	id := args[0]
	fs.Parse(args[1:])
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/broadcasts/%s/as-played.csv", *server, id))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return decode(resp, nil)
	}
	defer resp.Body.Close()
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
