package main

import (
	"flag"
	"fmt"
)

// announcePublish sends an approved announcement now (a reviewer or admin publishes).
func announcePublish(args []string) error {
	id, rest, err := announcementArg("publish", args)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("announce publish", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	fs.Parse(rest)
	var out struct {
		BroadcastID string `json:"broadcast_id"`
	}
	if err := staffRequest(*server, "POST", "/api/v1/announcements/"+id+"/publish", nil, &out); err != nil {
		return err
	}
	fmt.Printf("公告 %s 已播出，广播编号：%s\n（查看回执：ebctl log %s）\n", id, out.BroadcastID, out.BroadcastID)
	return nil
}
