package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"impactd/internal/config"
)

// TestDeploymentFiles: the Dockerfile builds with the Go release CI scans
// (RELEASE_GO in .ci/run), docker-compose.yml is a valid Compose file, and
// both name only settings impactd reads.
func TestDeploymentFiles(t *testing.T) {
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile("../../" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	dockerfile, compose, ci := read("Dockerfile"), read("docker-compose.yml"), read(".ci/run")

	from := regexp.MustCompile(`(?m)^FROM golang:(\d+\.\d+\.\d+)`).FindStringSubmatch(dockerfile)
	release := regexp.MustCompile(`(?m)^RELEASE_GO=go(\d+\.\d+\.\d+)`).FindStringSubmatch(ci)
	if from == nil || release == nil || from[1] != release[1] {
		t.Errorf("the Dockerfile builds with Go %v, CI scans Go %v: keep them the same", from, release)
	}

	known := map[string]bool{}
	for _, v := range config.Vars {
		known[v.Name] = true
		if v.Secret {
			known[v.Name+"_FILE"] = true
		}
	}
	for name, text := range map[string]string{"Dockerfile": dockerfile, "docker-compose.yml": compose} {
		for _, v := range regexp.MustCompile(`\bIMPACTD_[A-Z_]+\b`).FindAllString(text, -1) {
			if !known[v] {
				t.Errorf("%s sets %s, which impactd does not read", name, v)
			}
		}
	}
	if !strings.Contains(dockerfile, `VOLUME ["/data"]`) || !strings.Contains(dockerfile, "sqlite:/data/") {
		t.Error("the image keeps its SQLite database outside a volume")
	}

	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose not installed (Debian package docker-compose; .ci/run installs it)")
	}
	cmd := exec.Command(bin, "--file", "docker-compose.yml", "config", "--quiet")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("docker-compose config: %v\n%s", err, out)
	}
}
