// Command ebctl is the command-line client of the controller's API.
//
//	ebctl terminals
//	ebctl broadcast --to village:361126104201 --audio notice.wav --wait
package main

import (
	"fmt"
	"os"
)

const usage = `ebctl: 大喇叭 controller client

Every command but login needs a session: ebctl login saves one in $XDG_CONFIG_HOME/dalaba/token
($DALABA_TOKEN overrides it); what you may do depends on your role and scope (docs/SECURITY.md).

usage:
  ebctl terminals [--server URL]
  ebctl terminals provision [--out DIR] [--all] TERMINAL_ID...   new token per terminal (admins); writes DIR/<id>.json for terminal-agent --provision
  ebctl terminals revoke TERMINAL_ID                         cut a terminal off the broker and audio service at once (admins)
  ebctl broadcast --to ADDR[,ADDR...] --audio FILE.wav [--title T] [--valid-for 10m] [--wait] [--timeout 5m] [--server URL]

  ebctl log BROADCAST_ID [--out FILE.csv] [--server URL]     as-played log (播出记录) as CSV

  ebctl volume TERMINAL_ID 0-100 [--server URL]              set a terminal's volume (0 mutes)
  ebctl clock-check TERMINAL_ID [--server URL]               compare its clock with the controller's
  ebctl self-test TERMINAL_ID [--tone-hz 1000] [--duration-ms 500] [--level 0.05] [--server URL]
  ebctl events [--terminal ID] [--limit 50] [--server URL]   faults, recoveries, offline (终端事件)
  ebctl upper [--limit 50] [--server URL]                    emergency messages the county sent down, and platforms below (上级消息)

accounts, announcements, emergencies, shouts, schedules:
  ebctl login --user NAME [--password P]                     password from stdin when not given
  ebctl logout | whoami | passwd [--old P --new P]           end the session; show it; change your password
  ebctl announce create --title T --category 决策公开 --domain 惠农补贴 --text T|--text-file F --to ADDR[,ADDR...] [--voice V] [--valid-from W] [--valid-until W]
  ebctl announce edit ID [--revision N] [--title ...]        any create flag; back to draft, a new revision
  ebctl announce submit ID                                   secrecy check (保密审查), then to review
  ebctl announce approve ID --revision N [--comment C] [--ack all|F1,F2]
  ebctl announce reject ID --comment C
  ebctl announce publish ID                      send an approved announcement now (reviewer)
  ebctl announce list [--state submitted]
  ebctl announce show ID                                     flags and history
  ebctl users add --name N --role editor|reviewer|admin [--scope village:CODE] [--display-name D] [--password P]
  ebctl users list
  ebctl users set NAME [--role R] [--scope S] [--display-name D] | disable NAME | enable NAME | reset-password NAME [--password P]
  ebctl emergency send --to ADDR[,ADDR...] --severity 1-4 (--template KEY | --text T | --audio F.wav)
                       [--title T] [--repeat N] [--interval 3s] [--ends 30m] [--volume 100] [--wait]
                       应急广播: templates (应急管理, approved) by anyone; free text or audio by reviewers/admins
  ebctl cancel BROADCAST_ID [--reason R]                     stop a broadcast everywhere at once
  ebctl shout --to ADDR[,ADDR...] (--wav F.wav | --stdin | --device [--alsa-device D]) [--title T]
                       实时喊话: your voice to the targets as you speak (--stdin: s16le 16 kHz mono); Ctrl-C ends

  ebctl schedule list|week [--from 2006-01-02]|show ID|slots ID [--limit 50]|reload   日程
  ebctl schedule create --name N --announcement KEY (--cron "30 7 * * *" | --at "2006-01-02 15:04")
                        [--to ADDR[,ADDR...]] [--grace 10m] [--timezone Asia/Shanghai] [--id ID]
  ebctl schedule pause|resume|delete ID

addresses: town:<code>, village:<code>, group:<code>, terminal:<id>
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "terminals":
		err = terminalsCommand(os.Args[2:])
	case "broadcast":
		err = broadcast(os.Args[2:])
	case "log":
		err = asPlayed(os.Args[2:])
	case "volume":
		err = volume(os.Args[2:])
	case "clock-check":
		err = clockCheck(os.Args[2:])
	case "self-test":
		err = selfTest(os.Args[2:])
	case "events":
		err = events(os.Args[2:])
	case "upper":
		err = upper(os.Args[2:])
	case "login":
		err = login(os.Args[2:])
	case "logout":
		err = logout(os.Args[2:])
	case "whoami":
		err = whoami(os.Args[2:])
	case "passwd":
		err = passwd(os.Args[2:])
	case "announce":
		err = announce(os.Args[2:])
	case "users":
		err = users(os.Args[2:])
	case "emergency":
		err = emergencyCmd(os.Args[2:])
	case "cancel":
		err = cancelCmd(os.Args[2:])
	case "shout":
		err = shoutCmd(os.Args[2:])
	case "schedule", "schedules":
		err = scheduleCmd(os.Args[2:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "ebctl: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ebctl:", err)
		os.Exit(1)
	}
}

func defaultServer() string {
	if s := os.Getenv("DALABA_SERVER"); s != "" {
		return s
	}
	return "http://127.0.0.1:8080"
}
