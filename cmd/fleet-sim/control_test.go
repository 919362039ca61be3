package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"dalaba/proto/dalabapb"
)

func TestFaultControlRaisesAndClearsSimulatedFaults(t *testing.T) {
	fc := newFaultControl()
	h := fc.add("t001")
	srv := httptest.NewServer(fc.handler())
	defer srv.Close()
	post := func(body string) int {
		t.Helper()
		resp, err := http.Post(srv.URL+"/faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"terminal":"t001","kind":"amplifier_voltage_low","active":true,"detail":"18 V"}`); code != 204 {
		t.Fatalf("raise: %d", code)
	}
	got, _ := h.Poll(context.Background())
	if len(got) != 1 || got[0].Kind != dalabapb.FaultKind_FAULT_KIND_AMPLIFIER_VOLTAGE_LOW || got[0].Detail != "18 V" {
		t.Fatalf("health source after raise: %+v", got)
	}
	select {
	case <-h.Changed():
	default:
		t.Fatal("the agent was not woken to report the change")
	}
	resp, err := http.Get(srv.URL + "/faults")
	if err != nil {
		t.Fatal(err)
	}
	listed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(listed), `"t001":[{"kind":"amplifier_voltage_low","active":true,"detail":"18 V"}]`) {
		t.Fatalf("GET /faults: %s", listed)
	}
	if code := post(`{"terminal":"t001","kind":"amplifier_voltage_low","active":false}`); code != 204 {
		t.Fatalf("clear: %d", code)
	}
	if got, _ := h.Poll(context.Background()); len(got) != 0 {
		t.Fatalf("after clear: %+v", got)
	}
	for body, want := range map[string]int{
		`{"terminal":"t001","kind":"fire","active":true}`:              400,
		`{"terminal":"t001","kind":"SIGNAL_WEAK","active":true}`:       400,
		`{"terminal":"t999","kind":"signal_weak","active":true}`:       404,
		`{"terminal":"t001","kind":"signal_weak","active":true,"x":1}`: 400,
		`not json`: 400,
	} {
		if code := post(body); code != want {
			t.Errorf("%s: %d, want %d", body, code, want)
		}
	}
}
