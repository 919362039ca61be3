package main

import (
	"crypto/tls"
	"fmt"
	"path/filepath"

	"dalaba/controller/inventory"
	"dalaba/proto/provision"
)

// readTokens reads every simulated terminal's token from its provisioning file in dir.
func readTokens(dir string, terminals []inventory.Terminal) (map[string]string, error) {
	out := make(map[string]string, len(terminals))
	for _, t := range terminals {
		b, err := provision.Read(filepath.Join(dir, t.ID+".json"))
		if err != nil {
			return nil, err
		}
		if b.Terminal != t.ID {
			return nil, fmt.Errorf("%s/%s.json is terminal %s's", dir, t.ID, b.Terminal)
		}
		out[t.ID] = b.Token
	}
	return out, nil
}

// simTLS trusts caFile, or else the CA in the provisioning files (they all carry the same);
// nil when plain.
func simTLS(caFile, dir string, plaintext bool) (*tls.Config, error) {
	if plaintext {
		return nil, nil
	}
	if caFile != "" {
		return provision.ReadCA(caFile)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no provisioning files in %s", dir)
	}
	b, err := provision.Read(files[0])
	if err != nil {
		return nil, err
	}
	if b.CA == "" {
		return nil, fmt.Errorf("%s has no CA (a controller with --insecure-plaintext?): give --ca or --insecure-plaintext", files[0])
	}
	return provision.ClientTLS([]byte(b.CA))
}
