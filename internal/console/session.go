package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"impactd/internal/auth"
	"impactd/internal/domain"
	"impactd/internal/store"
)

// CookieName is the session cookie. It holds a random token; the database
// holds only the token's SHA-256.
const CookieName = "impactd_session"

// MinPasswordLength is the shortest password a staff account may have.
const MinPasswordLength = 12

// HashPassword returns the bcrypt hash of a staff password, refusing short ones.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", domain.Errorf(domain.EINVALID, "the password must have at least %d characters", MinPasswordLength)
	}
	if len(password) > 72 {
		return "", domain.Errorf(domain.EINVALID, "the password must have at most 72 bytes (bcrypt's limit)")
	}
	h, err := hashPassword(password)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

func hashPassword(p string) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(p), bcrypt.DefaultCost)
}

// NormaliseEmail is how staff email addresses are stored and looked up.
func NormaliseEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

type ctxKey int

const sessionKey ctxKey = 1

// session is a signed-in request's staff member and CSRF token.
type session struct {
	staff *store.Staff
	hash  string // the session row's id
	csrf  string
}

func staffFrom(ctx context.Context) (*session, bool) {
	s, ok := ctx.Value(sessionKey).(*session)
	return s, ok
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// csrfToken is derived from the session token, which only the browser (in
// an HttpOnly cookie) and nobody else knows; so the form token needs no
// storage and changes with every sign-in.
func csrfToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("impactd csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// crossOrigin rejects cross-site form posts by the browser's Sec-Fetch-Site
// or Origin header (Go's CSRF protection); the form token below is a second,
// independent check for browsers that send neither.
var crossOrigin = http.NewCrossOriginProtection()

// Require admits signed-in staff with at least the role. Any request other
// than GET or HEAD must also pass the cross-origin check and carry the
// session's CSRF token in the form field "csrf". Signed-out visitors are sent
// to the sign-in page; staff without the role get 403.
func (c *Console) Require(role auth.Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookie, err := r.Cookie(CookieName)
		if err != nil || cookie.Value == "" {
			c.toSignIn(w, r)
			return
		}
		hash := hashToken(cookie.Value)
		st, err := c.o.Store.SessionStaff(r.Context(), hash, c.o.Clock.Now().Unix())
		if err != nil {
			if domain.ErrorCode(err) != domain.ENOTFOUND {
				c.fail(w, r, err)
				return
			}
			c.clearCookie(w)
			c.toSignIn(w, r)
			return
		}
		s := &session{staff: st, hash: hash, csrf: csrfToken(cookie.Value)}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey, s))
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := crossOrigin.Check(r); err != nil {
				c.fail(w, r, domain.Errorf(domain.EFORBIDDEN, "This form was sent from another site, so it was refused."))
				return
			}
			got := r.PostFormValue("csrf")
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
				c.fail(w, r, domain.Errorf(domain.EFORBIDDEN, "This form has expired or did not come from the console. Go back, reload the page and try again."))
				return
			}
		}
		if !auth.Role(st.Role).Allows(role) {
			c.fail(w, r, domain.Errorf(domain.EFORBIDDEN, "This needs the %s role; you are signed in as %s.", role, st.Role))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		c.fail(w, r, domain.Errorf(domain.EUNAUTHORIZED, "Your session has ended. Sign in again, then repeat what you were doing."))
		return
	}
	redirect(w, r, "/console/sign-in?next="+url.QueryEscape(r.URL.RequestURI()))
}

func (c *Console) setCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: value, Path: "/console", MaxAge: maxAge,
		Secure: c.o.CookieSecure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (c *Console) clearCookie(w http.ResponseWriter) { c.setCookie(w, "", -1) }

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return "/console"
}

type signInData struct {
	Email, Next string
}

// SignInPage shows the sign-in form.
func (c *Console) SignInPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusOK, "signin", view{Title: "Sign in", Data: signInData{Next: safeNext(r.URL.Query().Get("next"))}})
	})
}

// SignInMaxBytes is the most of a sign-in request's body that is read.
const SignInMaxBytes = 8 << 10

// SignIn checks an email and password. Attempts are rate-limited per client
// address and per email address; the answer never says which of the two was
// wrong. A successful sign-in always starts a new session (a session token
// the browser brought along is ended, never adopted), so a planted cookie
// cannot become a signed-in session.
func (c *Console) SignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := crossOrigin.Check(r); err != nil {
			c.fail(w, r, domain.Errorf(domain.EFORBIDDEN, "This form was sent from another site, so it was refused."))
			return
		}
		// The form is an email and a password: read at most SignInMaxBytes,
		// and only as a URL-encoded form (ParseForm never spools a multipart
		// upload to disk, and after it PostFormValue parses nothing more).
		r.Body = http.MaxBytesReader(w, r.Body, SignInMaxBytes)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			status := http.StatusBadRequest
			if errors.As(err, &tooBig) {
				status = http.StatusRequestEntityTooLarge
			}
			w.Header().Set("Connection", "close")
			c.render(w, r, status, "error", view{Title: http.StatusText(status), Error: "The sign-in form could not be read."})
			return
		}
		email := NormaliseEmail(r.PostFormValue("email"))
		data := signInData{Email: email, Next: safeNext(r.PostFormValue("next"))}
		ip := clientIP(r)
		if !c.limiter.allow("ip:"+ip) || !c.limiter.allow("email:"+email) {
			c.o.Log.Warn("sign-in rate limited")
			w.Header().Set("Retry-After", fmt.Sprint(int(c.o.SignInEvery.Seconds())))
			c.render(w, r, http.StatusTooManyRequests, "signin", view{Title: "Sign in", Data: data,
				Error: "Too many sign-in attempts. Wait a minute and try again."})
			return
		}
		st, err := c.o.Store.StaffByEmail(r.Context(), email)
		if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
			c.fail(w, r, err)
			return
		}
		hash := c.dummyHash
		if st != nil {
			hash = []byte(st.PasswordHash)
		}
		ok := bcrypt.CompareHashAndPassword(hash, []byte(r.PostFormValue("password"))) == nil
		if !ok || st == nil || st.DisabledAt != 0 {
			c.render(w, r, http.StatusUnauthorized, "signin", view{Title: "Sign in", Data: data,
				Error: "That email address and password do not match an active staff account."})
			return
		}
		if old, err := r.Cookie(CookieName); err == nil && old.Value != "" {
			if err := c.o.Store.DeleteSession(r.Context(), hashToken(old.Value)); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		token := newToken()
		now := c.o.Clock.Now()
		err = c.o.Store.InTx(r.Context(), func(tx *store.Tx) error {
			if err := tx.DeleteExpiredSessions(r.Context(), now.Unix()); err != nil {
				return err
			}
			if err := tx.CreateSession(r.Context(), hashToken(token), st.ID, now.Unix(), now.Add(c.o.SessionTTL).Unix()); err != nil {
				return err
			}
			return tx.Audit(r.Context(), &store.AuditEntry{Actor: "staff:" + st.Email, Action: "staff.sign_in", Subject: st.ID, CreatedAt: now.Unix()})
		})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.setCookie(w, token, int(c.o.SessionTTL.Seconds()))
		redirect(w, r, data.Next)
	})
}

// SignOut ends the session.
func (c *Console) SignOut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := staffFrom(r.Context()); ok {
			if err := c.o.Store.DeleteSession(r.Context(), s.hash); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		c.clearCookie(w)
		redirect(w, r, "/console/sign-in")
	})
}

func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// clientIP is the connection's address. Behind a proxy this is the proxy's:
// the limit then applies to everyone together, which errs on the safe side.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter is a token bucket per key (golang.org/x/time/rate), forgotten
// after an idle while so that the map stays small. It is per process: with
// several replicas an attacker gets each replica's allowance.
type limiter struct {
	mu    sync.Mutex
	every time.Duration
	burst int
	clock domain.Clock
	m     map[string]*bucket
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(every time.Duration, burst int, clock domain.Clock) *limiter {
	return &limiter{every: every, burst: burst, clock: clock, m: map[string]*bucket{}}
}

func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if len(l.m) > 10000 {
		for k, b := range l.m {
			if now.Sub(b.seen) > time.Duration(l.burst)*l.every {
				delete(l.m, k)
			}
		}
	}
	b := l.m[key]
	if b == nil {
		b = &bucket{l: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.m[key] = b
	}
	b.seen = now
	return b.l.AllowN(now, 1)
}
