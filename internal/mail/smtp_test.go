package mail_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"impactd/internal/mail"
)

// fakeSMTP is a tiny SMTP server on a loopback port, enough to drive the
// client through replies a real relay gives but Mailpit cannot be made to
// give on demand. Recipients choose the RCPT TO reply: temp@… gets 451,
// perm@… 550, busy@… 421; everyone else is accepted.
type fakeSMTP struct {
	ln   net.Listener
	addr string

	greeting   string      // first line; default "220 fake ESMTP"
	silent     bool        // accept connections and never say anything
	authMechs  string      // e.g. "PLAIN LOGIN"; empty: no AUTH offered
	authReply  string      // reply to the last AUTH step; default "235 2.7.0 ok"
	startTLS   *tls.Config // offer STARTTLS with this config
	hangUpData bool        // close the connection after every message, like an idle timeout

	conns     atomic.Int64
	mu        sync.Mutex
	delivered []string // RCPT TO of each accepted message
	creds     []string // "user\x00pass" of each AUTH
}

func newFakeSMTP(t *testing.T, setup func(*fakeSMTP)) *fakeSMTP {
	return newFakeSMTPOn(t, "127.0.0.1:0", nil, setup)
}

// newFakeSMTPOn listens on addr, with implicit TLS when implicit is set.
func newFakeSMTPOn(t *testing.T, addr string, implicit *tls.Config, setup func(*fakeSMTP)) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("address %s not available: %v", addr, err)
	}
	if implicit != nil {
		ln = tls.NewListener(ln, implicit)
	}
	f := &fakeSMTP{ln: ln, addr: ln.Addr().String(), greeting: "220 fake ESMTP", authReply: "235 2.7.0 ok"}
	if setup != nil {
		setup(f)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.conns.Add(1)
			wg.Add(1)
			go func() { defer wg.Done(); f.serve(c) }()
		}
	}()
	return f
}

func (f *fakeSMTP) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if f.silent {
		buf := make([]byte, 1)
		c.Read(buf) // until the client gives up
		return
	}
	tp := textproto.NewConn(c)
	say := func(format string, a ...any) { tp.PrintfLine(format, a...) }
	say("%s", f.greeting)
	if !strings.HasPrefix(f.greeting, "220") {
		return
	}
	var rcpt string
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"fake", "8BITMIME", "ENHANCEDSTATUSCODES"}
			if f.authMechs != "" {
				ext = append(ext, "AUTH "+f.authMechs)
			}
			if f.startTLS != nil {
				if _, ok := c.(*tls.Conn); !ok {
					ext = append(ext, "STARTTLS")
				}
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				say("250%s%s", sep, e)
			}
		case "HELO", "NOOP", "RSET":
			rcpt = ""
			say("250 2.0.0 ok")
		case "STARTTLS":
			say("220 2.0.0 go ahead")
			tc := tls.Server(c, f.startTLS)
			if tc.Handshake() != nil {
				return
			}
			c = tc
			tp = textproto.NewConn(c)
		case "AUTH":
			f.auth(tp, arg)
		case "MAIL":
			say("250 2.1.0 ok")
		case "RCPT":
			rcpt = strings.Trim(strings.TrimPrefix(strings.ToUpper(arg), "TO:"), "<>")
			switch {
			case strings.HasPrefix(rcpt, "TEMP@"):
				say("451 4.3.0 <%s>: try again later", strings.ToLower(rcpt))
			case strings.HasPrefix(rcpt, "PERM@"):
				say("550 5.1.1 <%s>: Recipient address rejected: mailbox unavailable", strings.ToLower(rcpt))
			case strings.HasPrefix(rcpt, "BUSY@"):
				say("421 4.7.0 too busy, closing")
				return
			default:
				say("250 2.1.5 ok")
			}
		case "DATA":
			say("354 go ahead")
			if _, err := tp.ReadDotBytes(); err != nil {
				return
			}
			f.mu.Lock()
			f.delivered = append(f.delivered, strings.ToLower(rcpt))
			f.mu.Unlock()
			say("250 2.0.0 queued")
			if f.hangUpData {
				return
			}
		case "QUIT":
			say("221 2.0.0 bye")
			return
		default:
			say("502 5.5.2 what")
		}
	}
}

// auth runs PLAIN or LOGIN and records the credentials it was given.
func (f *fakeSMTP) auth(tp *textproto.Conn, arg string) {
	mech, initial, _ := strings.Cut(arg, " ")
	var user, pass string
	switch strings.ToUpper(mech) {
	case "PLAIN":
		if initial == "" {
			tp.PrintfLine("334 ")
			initial, _ = tp.ReadLine()
		}
		b, _ := base64.StdEncoding.DecodeString(initial)
		parts := strings.SplitN(string(b), "\x00", 3)
		if len(parts) == 3 {
			user, pass = parts[1], parts[2]
		}
	case "LOGIN":
		tp.PrintfLine("334 VXNlcm5hbWU6")
		l, _ := tp.ReadLine()
		u, _ := base64.StdEncoding.DecodeString(l)
		tp.PrintfLine("334 UGFzc3dvcmQ6")
		l, _ = tp.ReadLine()
		p, _ := base64.StdEncoding.DecodeString(l)
		user, pass = string(u), string(p)
	default:
		tp.PrintfLine("504 5.5.4 unknown mechanism")
		return
	}
	f.mu.Lock()
	f.creds = append(f.creds, mech+" "+user+"\x00"+pass)
	f.mu.Unlock()
	tp.PrintfLine("%s", f.authReply)
}

func (f *fakeSMTP) deliveredTo() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.delivered...)
}

func (f *fakeSMTP) credentials() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.creds...)
}

// to returns the letter addressed to rcpt.
func to(rcpt string) *mail.Message {
	m := letter(fmt.Sprintf("stmt-%s.1@impactd.example", strings.Split(rcpt, "@")[0]))
	m.To = rcpt
	return m
}

func TestSMTPClassification(t *testing.T) {
	f := newFakeSMTP(t, nil)
	s := MustOpen(t, "smtp://"+f.addr+"?tls=none", mail.Options{Timeout: 5 * time.Second})
	for _, c := range []struct {
		rcpt            string
		temporary       bool
		permanent       bool
		text            string // part of the error text
		stillConnection bool   // the next message uses the same connection
	}{
		{"ok@example.org", false, false, "", true},
		{"temp@example.org", true, false, "mail: RCPT TO: 451 4.3.0 <[to]>: try again later", true},
		{"perm@example.org", false, true, "mail: RCPT TO: 550 5.1.1 <[to]>: Recipient address rejected: mailbox unavailable", true},
		{"busy@example.org", true, false, "mail: RCPT TO: 421 4.7.0 too busy", false},
	} {
		t.Run(c.rcpt, func(t *testing.T) {
			before := f.conns.Load()
			err := s.Send(context.Background(), to(c.rcpt))
			if c.text == "" {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
			} else {
				if err == nil {
					t.Fatal("Send succeeded, want an error")
				}
				if !strings.Contains(err.Error(), c.text) {
					t.Errorf("error %q, want it to contain %q", err, c.text)
				}
				if strings.Contains(err.Error(), c.rcpt) {
					t.Errorf("error %q names the recipient", err)
				}
				var se *mail.SendError
				if !errors.As(err, &se) || se.Code == 0 {
					t.Errorf("error %#v carries no reply code", err)
				}
			}
			if got := mail.IsTemporary(err); got != c.temporary {
				t.Errorf("IsTemporary = %v, want %v", got, c.temporary)
			}
			if got := mail.IsPermanent(err); got != c.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, c.permanent)
			}
			if err := s.Send(context.Background(), to("next@example.org")); err != nil {
				t.Fatalf("next Send: %v", err)
			}
			if reused := f.conns.Load() == before || (before == 0 && f.conns.Load() == 1); reused != c.stillConnection {
				t.Errorf("connections %d → %d: reused = %v, want %v", before, f.conns.Load(), reused, c.stillConnection)
			}
		})
	}
}

func TestSMTPSessionFailuresAreTemporary(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	for _, c := range []struct {
		name  string
		url   func() string
		text  string
		quick bool // must fail well before the test's 5s timeout
	}{
		{"connection refused", func() string { return "smtp://" + closedAddr + "?tls=none" }, "connection refused", true},
		{"554 greeting", func() string {
			return "smtp://" + newFakeSMTP(t, func(f *fakeSMTP) { f.greeting = "554 5.7.1 no service for you" }).addr
		}, "mail: connect: 554 5.7.1 no service for you", true},
		{"AUTH 535", func() string {
			f := newFakeSMTP(t, func(f *fakeSMTP) { f.authMechs = "PLAIN"; f.authReply = "535 5.7.8 bad credentials" })
			return "smtp://user:pw@" + f.addr + "?tls=none"
		}, "mail: AUTH: 535 5.7.8 bad credentials", true},
		{"tls=required without STARTTLS", func() string { return "smtp://" + newFakeSMTP(t, nil).addr + "?tls=required" }, "STARTTLS", true},
		{"server never greets", func() string {
			return "smtp://" + newFakeSMTP(t, func(f *fakeSMTP) { f.silent = true }).addr + "?tls=none"
		}, "timeout", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := MustOpen(t, c.url(), mail.Options{Timeout: 500 * time.Millisecond})
			start := time.Now()
			err := s.Send(context.Background(), to("zoe@example.org"))
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if !mail.IsTemporary(err) || mail.IsPermanent(err) {
				t.Errorf("IsTemporary = %v, IsPermanent = %v for %v; want temporary only", mail.IsTemporary(err), mail.IsPermanent(err), err)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q, want it to contain %q", err, c.text)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Send took %v; the 500ms timeout was not applied", d)
			}
		})
	}
}

func TestSMTPReusesConnections(t *testing.T) {
	f := newFakeSMTP(t, nil)
	s := MustOpen(t, "smtp://"+f.addr+"?tls=none&pool=1", mail.Options{})
	for i := range 5 {
		if err := s.Send(context.Background(), to(fmt.Sprintf("d%d@example.org", i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.conns.Load(); got != 1 {
		t.Errorf("5 messages took %d connections, want 1", got)
	}
	if got := mail.Dials(s); got != 1 {
		t.Errorf("Dials = %d, want 1", got)
	}
	if got := len(f.deliveredTo()); got != 5 {
		t.Errorf("%d messages delivered, want 5", got)
	}
}

func TestSMTPConcurrentSendsStayWithinPool(t *testing.T) {
	f := newFakeSMTP(t, nil)
	s := MustOpen(t, "smtp://"+f.addr+"?tls=none&pool=3", mail.Options{})
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- s.Send(context.Background(), to(fmt.Sprintf("c%d@example.org", i)))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := f.conns.Load(); got < 1 || got > 3 {
		t.Errorf("%d connections for pool=3", got)
	}
	if got := len(f.deliveredTo()); got != n {
		t.Errorf("%d messages delivered, want %d", got, n)
	}
}

// TestSMTPReconnectsAfterHangUp: a relay that drops idle connections must not
// cost a message; the next Send notices at MAIL FROM and redials.
func TestSMTPReconnectsAfterHangUp(t *testing.T) {
	f := newFakeSMTP(t, func(f *fakeSMTP) { f.hangUpData = true })
	s := MustOpen(t, "smtp://"+f.addr+"?tls=none&pool=1", mail.Options{Timeout: 2 * time.Second})
	for i := range 3 {
		if err := s.Send(context.Background(), to(fmt.Sprintf("h%d@example.org", i))); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if got := len(f.deliveredTo()); got != 3 {
		t.Errorf("%d messages delivered, want 3 (no loss, no duplicate)", got)
	}
	if got := f.conns.Load(); got != 3 {
		t.Errorf("%d connections, want 3", got)
	}
}

func TestSMTPAuth(t *testing.T) {
	for _, c := range []struct {
		mechs, want string
	}{
		{"PLAIN LOGIN", "PLAIN us@er\x00p@ss:w/rd"},
		{"LOGIN", "LOGIN us@er\x00p@ss:w/rd"},
		{"CRAM-MD5 PLAIN", "PLAIN us@er\x00p@ss:w/rd"},
	} {
		t.Run(c.mechs, func(t *testing.T) {
			f := newFakeSMTP(t, func(f *fakeSMTP) { f.authMechs = c.mechs })
			s := MustOpen(t, "smtp://us%40er:p%40ss%3Aw%2Frd@"+f.addr, mail.Options{})
			for range 2 {
				if err := s.Send(context.Background(), to("zoe@example.org")); err != nil {
					t.Fatal(err)
				}
			}
			if got := f.credentials(); len(got) != 1 || got[0] != c.want {
				t.Errorf("relay saw AUTH %q, want one %q", got, c.want)
			}
		})
	}

	t.Run("no mechanism", func(t *testing.T) {
		f := newFakeSMTP(t, func(f *fakeSMTP) { f.authMechs = "CRAM-MD5" })
		s := MustOpen(t, "smtp://user:pw@"+f.addr, mail.Options{})
		err := s.Send(context.Background(), to("zoe@example.org"))
		if err == nil || !strings.Contains(err.Error(), "neither PLAIN nor LOGIN") || !mail.IsTemporary(err) {
			t.Errorf("Send = %v, want a temporary AUTH error", err)
		}
	})

	// Over a connection without TLS to a host that is not localhost the
	// password is not sent, unless the URL says tls=none.
	t.Run("no TLS to a remote relay", func(t *testing.T) {
		f := newFakeSMTPOn(t, "127.0.0.2:0", nil, func(f *fakeSMTP) { f.authMechs = "PLAIN LOGIN" })
		s := MustOpen(t, "smtp://user:hunter2@"+f.addr, mail.Options{})
		err := s.Send(context.Background(), to("zoe@example.org"))
		if err == nil || !strings.Contains(err.Error(), "unencrypted") || !mail.IsTemporary(err) {
			t.Errorf("Send = %v, want a temporary 'unencrypted connection' error", err)
		}
		if len(f.credentials()) != 0 {
			t.Errorf("the password went over plain text")
		}
		s2 := MustOpen(t, "smtp://user:hunter2@"+f.addr+"?tls=none", mail.Options{})
		if err := s2.Send(context.Background(), to("zoe@example.org")); err != nil {
			t.Errorf("with tls=none: %v", err)
		}
	})
}

// testTLS returns a server config with httptest's certificate (valid for
// 127.0.0.1 and example.com, signed by a CA nobody trusts).
func testTLS(t *testing.T) *tls.Config {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	cert := srv.TLS.Certificates[0]
	srv.Close()
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

func TestSMTPTLS(t *testing.T) {
	conf := testTLS(t)
	for _, c := range []struct {
		name    string
		url     func() (string, *fakeSMTP)
		wantErr string
	}{
		{"STARTTLS required", func() (string, *fakeSMTP) {
			f := newFakeSMTP(t, func(f *fakeSMTP) { f.startTLS = conf; f.authMechs = "PLAIN" })
			return "smtp://user:pw@" + f.addr + "?tls=required&insecure_skip_verify=1", f
		}, ""},
		{"STARTTLS opportunistic", func() (string, *fakeSMTP) {
			f := newFakeSMTP(t, func(f *fakeSMTP) { f.startTLS = conf })
			return "smtp://" + f.addr + "?insecure_skip_verify=1", f
		}, ""},
		{"STARTTLS untrusted certificate", func() (string, *fakeSMTP) {
			f := newFakeSMTP(t, func(f *fakeSMTP) { f.startTLS = conf })
			return "smtp://" + f.addr + "?tls=required", f
		}, "certificate"},
		{"implicit TLS", func() (string, *fakeSMTP) {
			f := newFakeSMTPOn(t, "127.0.0.1:0", conf, func(f *fakeSMTP) { f.authMechs = "PLAIN" })
			return "smtps://user:pw@" + f.addr + "?insecure_skip_verify=1", f
		}, ""},
		{"implicit TLS untrusted certificate", func() (string, *fakeSMTP) {
			f := newFakeSMTPOn(t, "127.0.0.1:0", conf, nil)
			return "smtps://" + f.addr, f
		}, "certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, f := c.url()
			s := MustOpen(t, u, mail.Options{Timeout: 2 * time.Second})
			err := s.Send(context.Background(), to("zoe@example.org"))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !mail.IsTemporary(err) {
					t.Errorf("Send = %v, want a temporary error about %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.deliveredTo(); len(got) != 1 {
				t.Errorf("delivered %v", got)
			}
		})
	}
}

func TestSMTPContextAndClose(t *testing.T) {
	t.Run("cancelled context", func(t *testing.T) {
		f := newFakeSMTP(t, nil)
		s := MustOpen(t, "smtp://"+f.addr+"?tls=none", mail.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := s.Send(ctx, to("zoe@example.org"))
		if !errors.Is(err, context.Canceled) || !mail.IsTemporary(err) {
			t.Errorf("Send = %v, want a temporary context.Canceled", err)
		}
	})
	t.Run("context ends while the relay is silent", func(t *testing.T) {
		f := newFakeSMTP(t, func(f *fakeSMTP) { f.silent = true })
		s := MustOpen(t, "smtp://"+f.addr+"?tls=none", mail.Options{Timeout: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := s.Send(ctx, to("zoe@example.org"))
		if !errors.Is(err, context.DeadlineExceeded) || !mail.IsTemporary(err) {
			t.Errorf("Send = %v, want a temporary context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %v after its context ended", d)
		}
	})
	t.Run("closed sender", func(t *testing.T) {
		f := newFakeSMTP(t, nil)
		s := MustOpen(t, "smtp://"+f.addr+"?tls=none", mail.Options{})
		if err := s.Send(context.Background(), to("zoe@example.org")); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := s.Send(context.Background(), to("zoe@example.org")); !errors.Is(err, mail.ErrClosed) {
			t.Errorf("Send after Close = %v, want ErrClosed", err)
		}
	})
}
