package main

import (
	"fmt"
	"os"
	"path/filepath"

	"dalaba/controller/cascade"
)

// printCascadeCert writes the certificate upper and lower platforms verify this controller's
// cascade messages with (making the key on first use; its subject is the configured name).
func printCascadeCert(dataDir, configFile string) int {
	name := "dalaba"
	if configFile != "" {
		cfg, err := cascade.LoadConfig(configFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "controller:", err)
			return 1
		}
		name = cfg.Name
	}
	if _, _, err := cascade.LoadSigner(dataDir, name); err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		return 1
	}
	b, err := os.ReadFile(filepath.Join(dataDir, cascade.CertFile))
	if err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		return 1
	}
	os.Stdout.Write(b)
	return 0
}
