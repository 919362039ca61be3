package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// announceSubmit: ebctl announce submit ID. The controller runs the secrecy check (保密审查)
// and answers with what it flagged, for the reviewer to check.
func announceSubmit(args []string) error {
	id, rest, err := announcementArg("submit", args)
	if err != nil {
		return err
	}
	server := serverFlag("announce submit", rest)
	var a announcement
	if err := staffRequest(server, "POST", "/api/v1/announcements/"+id+"/submit", nil, &a); err != nil {
		return err
	}
	fmt.Printf("公告 %d 第 %d 版已提交审核。\n", a.ID, a.Revision)
	if len(a.Flags) == 0 {
		fmt.Println("保密审查：未发现身份证号、手机号、银行卡号或敏感词。")
		return nil
	}
	fmt.Printf("保密审查提示 %d 条，审核人须逐条核实确认后方可通过：\n", len(a.Flags))
	printFlags(a.Flags)
	return nil
}

// announceApprove: ebctl announce approve ID --revision N [--comment C] [--ack all|F1,F2].
func announceApprove(args []string) error {
	id, rest, err := announcementArg("approve", args)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("announce approve", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	revision := fs.Int("revision", 0, "the revision you reviewed (required; ebctl announce show ID)")
	comment := fs.String("comment", "", "review comment (审核意见)")
	ack := fs.String("ack", "", "secrecy flags you have checked: all, or ids such as F1,F2")
	fs.Parse(rest)
	if *revision <= 0 {
		return errors.New("--revision is required: the revision you reviewed (ebctl announce show " + id + ")")
	}
	acks := []string{}
	switch *ack {
	case "":
	case "all":
		var a announcement
		if err := staffRequest(*server, "GET", "/api/v1/announcements/"+id, nil, &a); err != nil {
			return err
		}
		if a.Revision != *revision {
			return fmt.Errorf("公告已被修改：您审核的是第 %d 版，现为第 %d 版，请重新审核", *revision, a.Revision)
		}
		for _, f := range a.Flags {
			acks = append(acks, f.ID)
		}
	default:
		for _, f := range strings.Split(*ack, ",") {
			acks = append(acks, strings.ToUpper(strings.TrimSpace(f)))
		}
	}
	body := map[string]any{"revision": *revision, "comment": *comment, "acknowledge": acks}
	var a announcement
	if err := staffRequest(*server, "POST", "/api/v1/announcements/"+id+"/approve", body, &a); err != nil {
		return err
	}
	fmt.Printf("公告 %d 第 %d 版已审核通过（审核人 %s），可以安排播出。\n", a.ID, a.Revision, a.Reviewer)
	return nil
}

// announceReject: ebctl announce reject ID --comment C.
func announceReject(args []string) error {
	id, rest, err := announcementArg("reject", args)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("announce reject", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	revision := fs.Int("revision", 0, "the revision you reviewed (optional)")
	comment := fs.String("comment", "", "what must change (required)")
	fs.Parse(rest)
	if strings.TrimSpace(*comment) == "" {
		return errors.New("驳回时须填写意见：--comment \"需要修改什么\"")
	}
	var a announcement
	body := map[string]any{"revision": *revision, "comment": *comment}
	if err := staffRequest(*server, "POST", "/api/v1/announcements/"+id+"/reject", body, &a); err != nil {
		return err
	}
	fmt.Printf("公告 %d 第 %d 版已驳回：%s\n", a.ID, a.Revision, a.ReviewComment)
	return nil
}

func printFlags(flags []flagged) {
	for _, f := range flags {
		where := map[string]string{"title": "标题", "text": "正文"}[f.Field]
		ok := ""
		if f.Acknowledged {
			ok = "（已确认）"
		}
		fmt.Printf("  %s  %s  %s（%s第 %d 字）%s\n", f.ID, f.Label, f.Masked, where, f.Char+1, ok)
	}
}
