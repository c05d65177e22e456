package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"impactd/internal/mail"
)

// mailpit is a running Mailpit: a real SMTP server with an HTTP API to read
// what arrived and a chaos mode that makes it answer with SMTP errors.
type mailpit struct {
	smtp string // host:port
	api  string // http://host:port
}

// setupMailpit returns the Mailpit named by the environment, or skips.
func setupMailpit(t *testing.T) *mailpit {
	t.Helper()
	smtp, api := os.Getenv("IMPACTD_TEST_MAILPIT_SMTP"), os.Getenv("IMPACTD_TEST_MAILPIT_API")
	if smtp == "" || api == "" {
		t.Skip("Mailpit not available: set IMPACTD_TEST_MAILPIT_SMTP and IMPACTD_TEST_MAILPIT_API")
	}
	return &mailpit{smtp: smtp, api: strings.TrimRight(api, "/")}
}

// call does one API request and decodes a JSON answer into out (if not nil).
func (mp *mailpit) call(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, mp.api+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("Mailpit API %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("Mailpit API %s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

type mpAddress struct{ Name, Address string }

// mpSummary is an entry of GET /api/v1/search.
type mpSummary struct {
	ID, MessageID, Subject string
}

// mpMessage is GET /api/v1/message/{ID}.
type mpMessage struct {
	ID, MessageID, Subject, Text, HTML string
	From                               mpAddress
	To                                 []mpAddress
	ReplyTo                            []mpAddress
	ListUnsubscribe                    struct{ Header, HeaderPost string }
	Attachments                        []struct {
		PartID, FileName, ContentType string
		Size                          int
	}
}

// search polls GET /api/v1/search?query=subject:token until want messages
// have arrived.
func (mp *mailpit) search(t *testing.T, token string, want int) []mpSummary {
	t.Helper()
	var res struct{ Messages []mpSummary }
	deadline := time.Now().Add(10 * time.Second)
	for {
		mp.call(t, http.MethodGet, "/api/v1/search?query="+url.QueryEscape("subject:"+token), nil, &res)
		if len(res.Messages) >= want || time.Now().After(deadline) {
			return res.Messages
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// remove deletes this test's messages (not everyone's: other tests may share
// the server).
func (mp *mailpit) remove(t *testing.T, token string) {
	var res struct{ Messages []mpSummary }
	mp.call(t, http.MethodGet, "/api/v1/search?query="+url.QueryEscape("subject:"+token), nil, &res)
	var ids []string
	for _, m := range res.Messages {
		ids = append(ids, m.ID)
	}
	if len(ids) > 0 {
		mp.call(t, http.MethodDelete, "/api/v1/messages", map[string][]string{"IDs": ids}, nil)
	}
}

func TestMailpit(t *testing.T) {
	mp := setupMailpit(t)
	token := fmt.Sprintf("mailtest%d", time.Now().UnixNano())
	t.Cleanup(func() { mp.remove(t, token) })

	// Mailpit runs with --smtp-auth-accept-any: any user goes, so the AUTH
	// path is exercised. It offers no STARTTLS, so tls=none lets PLAIN go
	// over plain text wherever the server is, not only on loopback.
	s := MustOpen(t, "smtp://impactd:s%40cret@"+mp.smtp+"?tls=none&pool=1", mail.Options{HelloName: "impactd.test"})
	const n = 3
	sent := map[string]*mail.Message{}
	for i := range n {
		m := letter(fmt.Sprintf("stmt-%s-%d.1@impactd.example", token, i))
		m.To = fmt.Sprintf("zoe+%d@example.org", i)
		m.Subject = fmt.Sprintf("Your impact letter — thank you, Zoë (%s #%d)", token, i)
		err := s.Send(context.Background(), m)
		if i == 0 && noAuth(err) {
			t.Logf("Mailpit offers no AUTH (started without --smtp-auth-accept-any); sending without")
			s = MustOpen(t, "smtp://"+mp.smtp+"?tls=none&pool=1", mail.Options{HelloName: "impactd.test"})
			err = s.Send(context.Background(), m)
		}
		if err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		sent[m.Subject] = m
	}
	if got := mail.Dials(s); got != 1 {
		t.Errorf("%d messages took %d connections, want 1", n, got)
	}

	found := mp.search(t, token, n)
	if len(found) != n {
		t.Fatalf("Mailpit has %d messages with %s, want %d", len(found), token, n)
	}
	for _, sum := range found {
		var got mpMessage
		if code := mp.call(t, http.MethodGet, "/api/v1/message/"+sum.ID, nil, &got); code != http.StatusOK {
			t.Fatalf("GET message: HTTP %d", code)
		}
		want, ok := sent[got.Subject]
		if !ok {
			t.Errorf("unexpected subject %q (non-ASCII subject mangled?)", got.Subject)
			continue
		}
		for _, c := range []struct{ name, got, want string }{
			{"Message-ID", got.MessageID, want.MessageID},
			{"From", got.From.Name + " <" + got.From.Address + ">", "Impact Team <letters@impactd.example>"},
			{"To", fmt.Sprint(got.To), fmt.Sprint([]mpAddress{{"Zoë Łukasiewicz", want.To}})},
			{"Reply-To", fmt.Sprint(got.ReplyTo), fmt.Sprint([]mpAddress{{"", "supporters@impactd.example"}})},
			{"List-Unsubscribe", got.ListUnsubscribe.Header, "<https://impactd.example/unsubscribe/tok-123>"},
			{"List-Unsubscribe-Post", got.ListUnsubscribe.HeaderPost, "List-Unsubscribe=One-Click"},
			{"Text", strings.TrimSpace(strings.ReplaceAll(got.Text, "\r\n", "\n")), "Dear Zoë,\nthank you."},
		} {
			if c.got != c.want {
				t.Errorf("%s: %s = %q, want %q", sum.ID, c.name, c.got, c.want)
			}
		}
		if !strings.Contains(got.HTML, "<p>Dear Zoë,</p>") {
			t.Errorf("HTML = %q", got.HTML)
		}
		if len(got.Attachments) != 1 {
			t.Fatalf("attachments: %+v", got.Attachments)
		}
		a := got.Attachments[0]
		if a.FileName != "impact-statement-2026-Q3.pdf" || a.ContentType != "application/pdf" || a.Size != len(pdf) {
			t.Errorf("attachment %+v, want impact-statement-2026-Q3.pdf, application/pdf, %d bytes", a, len(pdf))
		}

		var headers map[string][]string
		mp.call(t, http.MethodGet, "/api/v1/message/"+sum.ID+"/headers", nil, &headers)
		if got := headers["List-Unsubscribe-Post"]; len(got) != 1 || got[0] != "List-Unsubscribe=One-Click" {
			t.Errorf("List-Unsubscribe-Post header = %q", got)
		}
		if len(headers["Bcc"]) != 0 || len(headers["To"]) != 1 {
			t.Errorf("To %q, Bcc %q", headers["To"], headers["Bcc"])
		}

		// The attachment's bytes survive the trip.
		req, _ := http.NewRequest(http.MethodGet, mp.api+"/api/v1/message/"+sum.ID+"/part/"+a.PartID, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(body, pdf) {
			t.Errorf("attachment bytes differ: got %d bytes", len(body))
		}
	}
}

// TestMailpitChaos makes Mailpit reject with given codes and checks the
// classification. Chaos is server-wide, so the window is kept short and reset
// at once; it is skipped when Mailpit runs without --enable-chaos.
func TestMailpitChaos(t *testing.T) {
	mp := setupMailpit(t)
	token := fmt.Sprintf("chaostest%d", time.Now().UnixNano())
	t.Cleanup(func() { mp.remove(t, token) })

	if code := mp.call(t, http.MethodGet, "/api/v1/chaos", nil, nil); code != http.StatusOK {
		t.Skipf("Mailpit chaos not available (GET /api/v1/chaos: HTTP %d); start mailpit with --enable-chaos", code)
	}
	type trigger struct{ ErrorCode, Probability int }
	reset := func() { mp.call(t, http.MethodPut, "/api/v1/chaos", map[string]trigger{}, nil) }
	t.Cleanup(reset)

	for _, c := range []struct {
		name      string
		trigger   string
		code      int
		auth      bool
		temporary bool
		text      string
	}{
		{"recipient 451", "Recipient", 451, false, true, "mail: RCPT TO: 451 Chaos recipient error"},
		{"recipient 550", "Recipient", 550, false, false, "mail: RCPT TO: 550 Chaos recipient error"},
		{"sender 552", "Sender", 552, false, false, "mail: MAIL FROM: 552 Chaos sender error"},
		{"sender 421", "Sender", 421, false, true, "mail: MAIL FROM: 421 Chaos sender error"},
		// A rejected login is the relay's or our configuration's fault, not
		// the donor's: temporary even though the code is 5xx.
		{"authentication 535", "Authentication", 535, true, true, "mail: AUTH: 535"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := "smtp://" + mp.smtp + "?tls=none"
			if c.auth {
				u = "smtp://impactd:pw@" + mp.smtp + "?tls=none"
			}
			if c.auth { // a separate sender: an open connection would skip AUTH
				m := letter("chaos-auth-" + token + "@impactd.example")
				m.Subject = token
				if err := MustOpen(t, u, mail.Options{}).Send(context.Background(), m); noAuth(err) {
					t.Skip("Mailpit AUTH not available: start it with --smtp-auth-accept-any")
				}
			}
			s := MustOpen(t, u, mail.Options{Timeout: 5 * time.Second})
			if code := mp.call(t, http.MethodPut, "/api/v1/chaos", map[string]trigger{c.trigger: {c.code, 100}}, nil); code != http.StatusOK {
				t.Fatalf("PUT /api/v1/chaos: HTTP %d", code)
			}
			m := letter("chaos-" + token + "@impactd.example")
			m.Subject = token
			err := s.Send(context.Background(), m)
			reset()
			if err == nil {
				t.Fatal("Send succeeded under chaos")
			}
			t.Logf("Send under chaos: %v", err)
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q, want it to contain %q", err, c.text)
			}
			if mail.IsTemporary(err) != c.temporary || mail.IsPermanent(err) == c.temporary {
				t.Errorf("%v: IsTemporary = %v, IsPermanent = %v; want temporary %v", err, mail.IsTemporary(err), mail.IsPermanent(err), c.temporary)
			}
			// The chaos is gone and the same sender recovers.
			if err := s.Send(context.Background(), m); err != nil {
				t.Errorf("Send after chaos: %v", err)
			}
		})
	}
}

// noAuth reports whether err says the server offers no login at all.
func noAuth(err error) bool {
	var se *mail.SendError
	return errors.As(err, &se) && se.Op == "AUTH" && strings.Contains(err.Error(), "neither PLAIN nor LOGIN")
}
