package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// apiError is the controller's error body.
type apiError struct {
	Error  string `json:"error"`
	Detail string `json:"detail"`
}

// decode reads a JSON answer, turning an error status into an error that shows the message.
func decode(resp *http.Response, into any) error {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e apiError
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s (%d: %s)", e.Error, resp.StatusCode, e.Detail)
		}
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, into)
}

// getJSON GETs url and decodes the JSON answer into out, or returns the controller's error.
func getJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	return decode(resp, out)
}
