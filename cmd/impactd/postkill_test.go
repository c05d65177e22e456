package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"impactd/internal/domain"
	"impactd/internal/letter"
	"impactd/internal/post"
	"impactd/internal/smtpsink"
	"impactd/internal/store"
	"impactd/internal/store/storetest"
)

// TestKillNineThenPrintBatch: a run where a third of the donors have no
// email address (their letters go by post) is SIGKILLed at random moments
// and started again until it finishes; its print batch then holds every
// postal letter exactly once. The letters are counted by their
// verification codes in pdftotext's reading of the merged PDF, not by
// impactd.
func TestKillNineThenPrintBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test not run under -short (testing.Short)")
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is not installed")
	}
	donors := 450
	if raceEnabled {
		donors = 150
	}
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		sink, err := smtpsink.Start()
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		seedRun(t, dbURL, donors)
		s, err := store.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// Every third donor: no email address, a postal address.
		postal := map[string]bool{}
		for i := 0; i < donors; i += 3 {
			ds, err := s.DonorsByEmail(ctx, fmt.Sprintf("donor-%d@example.org", i))
			if err != nil || len(ds) != 1 {
				t.Fatalf("donor %d: %v %v", i, ds, err)
			}
			d := &ds[0]
			d.Email, d.Address = "", fmt.Sprintf("%d High Street\nLondon SW1A %dAA\nGB", i, i%10)
			if err := s.UpdateDonorContact(ctx, d); err != nil {
				t.Fatal(err)
			}
			postal[d.ID] = true
		}
		env := append(os.Environ(), "IMPACTD_DATABASE_URL="+dbURL, "IMPACTD_SMTP_URL="+sink.URL(), "IMPACTD_JOB_LEASE=10m", "IMPACTD_TAKEOVER_GRACE=1s",
			"IMPACTD_WORKERS=4", "IMPACTD_LOG_LEVEL=error", "IMPACTD_SCHEDULE=off", "IMPACTD_RETRY_BACKOFF=10ms")
		start := func() *exec.Cmd {
			a, _ := json.Marshal([]string{"run", "--period", "2026-Q3", "--reason", "kill test", "--quiet"})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(env, childEnv+"="+string(a))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			return cmd
		}
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
		deadline := time.Now().Add(4 * time.Minute)
		kills := 0
		for {
			cmd := start()
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			var wait <-chan time.Time
			if kills < 6 {
				wait = time.After(time.Duration(150+rng.IntN(500)) * time.Millisecond)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("impactd run exited: %v", err)
				}
			case <-wait:
				_ = cmd.Process.Kill() // SIGKILL
				<-exited
				kills++
				continue
			case <-time.After(time.Until(deadline)):
				_ = cmd.Process.Kill()
				t.Fatal("run did not finish in time")
			}
			break
		}
		all, err := s.ListRuns(ctx, 10)
		if err != nil || len(all) != 1 || all[0].Status != domain.RunSucceeded {
			t.Fatalf("runs after %d kills: %+v %v", kills, all, err)
		}
		b, err := s.BatchForRun(ctx, all[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		r, err := letter.New(letter.Options{})
		if err != nil {
			t.Fatal(err)
		}
		svc := &post.Service{Store: s, Renderer: r, Clock: domain.SystemClock{}}
		_, p, err := svc.Print(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		// What each postal donor's letter is, by its verification code.
		sts, err := s.StatementsForRun(ctx, all[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{} // code → donor
		for _, st := range sts {
			if postal[st.DonorID] {
				want[domain.VerificationCode(st.ContentHash)] = st.DonorID
			}
		}
		if len(want) != len(postal) {
			t.Fatalf("%d postal statements, want %d", len(want), len(postal))
		}
		// How often one letter prints its code, read the same way.
		var one bytes.Buffer
		for _, st := range sts {
			if postal[st.DonorID] {
				snap, err := domain.DecodeSnapshot([]byte(st.Snapshot))
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Render(&one, snap, st.ContentHash); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		per := len(codes(t, one.Bytes()))
		if per == 0 {
			t.Fatal("pdftotext finds no verification code in a letter")
		}
		got := map[string]int{}
		for _, c := range codes(t, p.PDF) {
			got[c]++
		}
		for c, donor := range want {
			if got[c] != per {
				t.Errorf("donor %s's letter (code %s) is in the batch %d times, want once (%d codes)", donor, c, got[c]/per, per)
			}
		}
		for c := range got {
			if _, ok := want[c]; !ok {
				t.Errorf("code %s in the batch belongs to no postal letter of the run", c)
			}
		}
		if b.Letters != len(postal) || p.Letters != len(postal) {
			t.Errorf("batch says %d letters, printed %d, want %d", b.Letters, p.Letters, len(postal))
		}
		t.Logf("%d donors, %d by post, %d kills, %d pages", donors, len(postal), kills, p.Pages)
	})
}

var codeRE = regexp.MustCompile(`\b[A-Z2-7]{5}-[A-Z2-7]{5}\b`)

// codes are the verification codes pdftotext reads in a PDF.
func codes(t *testing.T, pdf []byte) []string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "batch.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", f, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	return codeRE.FindAllString(strings.ReplaceAll(string(out), "\u00ad", ""), -1)
}
