// Package config reads impactd's settings from IMPACTD_* environment
// variables into one typed struct, validated once at start-up. Secrets may
// also be given as a file path in the variable's *_FILE twin, for container
// secrets. The table in Vars is the single source for defaults and for the
// README's settings table (a test keeps the two in step).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"impactd/internal/domain"
	"impactd/internal/period"
	"impactd/internal/schedule"
	"impactd/internal/wording"
)

// Config is every setting.
type Config struct {
	DatabaseURL         string
	HTTPAddr            string
	BaseURL             string
	StripeWebhookSecret string
	StripeTolerance     time.Duration
	StripeAPIKey        string
	StripeAPIBase       string
	DonationRule        string
	SMTPURL             string
	MailFrom            string
	MailFromName        string
	MailReplyTo         string
	OrgName             string
	OrgCharityNumber    string
	OrgAddress          []string
	OrgWebsite          string
	OrgEmail            string
	OrgCountry          string // domain.CountryGB or domain.CountryUS
	OrgLogo             []byte // PNG bytes from IMPACTD_ORG_LOGO_FILE; nil when unset
	OrgSignatory        string
	OrgSignatoryRole    string
	OrgSignature        []byte // PNG bytes from IMPACTD_ORG_SIGNATURE_FILE; nil when unset
	Location            *time.Location
	PeriodKind          period.Kind
	TemplatesDir        string
	PaperSize           string
	SecretKey           string
	LogLevel            string
	LogFormat           string
	CookieSecure        bool
	SessionTTL          time.Duration
	StatementLinkTTL    time.Duration

	// Schedule is the parsed IMPACTD_SCHEDULE, the impact letter's; nil
	// when it is "off".
	Schedule *schedule.Schedule
	// AnnualSchedule is the parsed IMPACTD_ANNUAL_SCHEDULE, the annual
	// statement's; nil when it is "off".
	AnnualSchedule *schedule.Schedule
	// AnnualPeriodKind is the annual statement's period (IMPACTD_ANNUAL_PERIOD):
	// the UK tax year for an organisation in GB, the calendar year otherwise.
	AnnualPeriodKind period.Kind
	// MarketingConsentMetadata is the Stripe customer metadata key that
	// records marketing consent; "" when consent is not read (and impact
	// letters are not gated on it).
	MarketingConsentMetadata string

	ScheduleCatchUp time.Duration
	IncludeMonthly  bool
	Workers         int
	SendRate        float64
	SendAttempts    int
	RetryBackoff    time.Duration
	JobLease        time.Duration
	TakeoverGrace   time.Duration
	BreakerFailures int // 0: no circuit breaker
	RelayDownAfter  int
	ShutdownGrace   time.Duration
	StaffEmail      string

	// HSTS is the Strict-Transport-Security value sent with every response;
	// "" when IMPACTD_HSTS is off.
	HSTS string
	// MetricsAddr is where /metrics is served on its own; "" serves it on
	// HTTPAddr, and only when MetricsToken is set.
	MetricsAddr  string
	MetricsToken string // bearer token /metrics asks for; "" asks none
	// SQLiteBusyTimeout is how long SQLite waits for another process's lock.
	SQLiteBusyTimeout time.Duration
}

// Var documents one environment variable.
type Var struct {
	Name, Default, Help string
	Secret              bool // may also be read from NAME_FILE; never logged
}

// Vars lists every setting, in README order.
var Vars = []Var{
	{"IMPACTD_DATABASE_URL", "sqlite:impactd.db", "Database: `sqlite:PATH` or `postgres://user@host:5432/db`.", true},
	{"IMPACTD_HTTP_ADDR", "127.0.0.1:8080", "Address `impactd serve` listens on.", false},
	{"IMPACTD_BASE_URL", "http://127.0.0.1:8080", "Public URL of impactd, used in links in emails and letters.", false},
	{"IMPACTD_STRIPE_WEBHOOK_SECRET", "", "Stripe endpoint signing secret (`whsec_…`). Required by `serve`.", true},
	{"IMPACTD_STRIPE_WEBHOOK_TOLERANCE", "300s", "How old, or how far in the future, a webhook signature may be.", false},
	{"IMPACTD_STRIPE_API_KEY", "", "Stripe secret or restricted key (read access) for `impactd stripe sync` and `reconcile`.", true},
	{"IMPACTD_STRIPE_API_BASE", "", "Override of Stripe's API address, for tests against a local server (e.g. stripe-mock).", false},
	{"IMPACTD_DONATION_RULE", "all", "Which charges are gifts: `all`, or `;`-separated clauses `metadata:KEY=VALUE[,…]` and `price:PRICE_ID[,…]`, any of which may match.", false},
	{"IMPACTD_SMTP_URL", "file://outbox", "Mail transport: `smtp://user:pass@host:587` (STARTTLS when offered), `smtps://…` (TLS), or `file://DIR` (one `.eml` per message).", true},
	{"IMPACTD_MAIL_FROM", "impact@example.org", "Sender address of the letters.", false},
	{"IMPACTD_MAIL_FROM_NAME", "", "Sender display name (default: the organisation's name).", false},
	{"IMPACTD_MAIL_REPLY_TO", "", "Reply-To address (default: none).", false},
	{"IMPACTD_ORG_NAME", "International Justice Mission UK", "Organisation name on the letterhead.", false},
	{"IMPACTD_ORG_CHARITY_NUMBER", "", "Registered charity number, printed when set.", false},
	{"IMPACTD_ORG_ADDRESS", "", "Postal address on the letterhead, lines separated by `|`.", false},
	{"IMPACTD_ORG_WEBSITE", "", "Website on the letterhead and in the verification line.", false},
	{"IMPACTD_ORG_EMAIL", "", "Supporter-care email address on the letterhead.", false},
	{"IMPACTD_ORG_COUNTRY", "GB", "`GB` (letters mark Gift Aid eligible gifts and show the 25% uplift) or `US` (letters carry the \"no goods or services\" acknowledgment when a gift is $250 or more).", false},
	{"IMPACTD_ORG_LOGO_FILE", "", "PNG logo printed at the top left of the letterhead (best without transparency).", false},
	{"IMPACTD_ORG_SIGNATORY", "", "Name of the person who signs the letters and emails, printed under the closing.", false},
	{"IMPACTD_ORG_SIGNATORY_ROLE", "", "The signatory's role, printed under their name (e.g. `Head of Supporter Care`).", false},
	{"IMPACTD_ORG_SIGNATURE_FILE", "", "PNG of the signatory's signature, printed above their name (dark ink on white, no transparency).", false},
	{"IMPACTD_TIMEZONE", "Europe/London", "Organisation's time zone: period boundaries and letter dates.", false},
	{"IMPACTD_PERIOD", "quarter", "The impact letter's period: `quarter`, `month`, `year` or `taxyear` (UK, 6 April).", false},
	{"IMPACTD_TEMPLATES_DIR", "", "Directory whose templates override the embedded ones (same file names: `letter.tmpl`, `email_subject.tmpl`, `email_text.tmpl`, `email_html.tmpl`, and the annual giving statement's `annual_letter.tmpl`, `annual_email_subject.tmpl`, `annual_email_text.tmpl`, `annual_email_html.tmpl`); any other file name is refused at start-up.", false},
	{"IMPACTD_PAPER_SIZE", "A4", "`A4` or `Letter`.", false},
	{"IMPACTD_SECRET_KEY", "", "Key for signed supporter links (unsubscribe, statements); at least 32 characters. Links are left out when unset.", true},
	{"IMPACTD_SCHEDULE", schedule.Default, "When the impact letter's runs start: a cron expression (minute hour day month weekday, or `@monthly` etc.), in `IMPACTD_TIMEZONE` unless it starts with `CRON_TZ=Zone`; each tick runs the previous complete period. `off` disables the schedule. One that never fires within a year (`0 9 31 2 *`) is refused.", false},
	{"IMPACTD_ANNUAL_SCHEDULE", "", "When the annual giving statement's runs start, as `IMPACTD_SCHEDULE` (each tick runs the previous complete `IMPACTD_ANNUAL_PERIOD`). Default: `" + schedule.DefaultAnnualGB + "` (09:00 on 20 April) when `IMPACTD_ORG_COUNTRY` is `GB`, `" + schedule.DefaultAnnualUS + "` (20 January) when `US`. `off` disables it.", false},
	{"IMPACTD_ANNUAL_PERIOD", "", "The annual statement's period: `taxyear` (6 April–5 April) or `year`. Default: `taxyear` when `IMPACTD_ORG_COUNTRY` is `GB`, `year` otherwise.", false},
	{"IMPACTD_MARKETING_CONSENT_METADATA", "", "Stripe customer metadata key that records marketing consent (`yes`/`true`/`1` or `no`/`false`/`0`). When set, impact letters (direct marketing) go only to supporters whose consent is recorded as yes; the annual statement is not affected. Unset: consent is not read.", false},
	{"IMPACTD_SCHEDULE_CATCHUP", "72h", "A tick missed while impactd was down is run at start-up if it is at most this old (once); `0` never catches up.", false},
	{"IMPACTD_RUN_INCLUDE_MONTHLY", "false", "Also write to every active monthly supporter, not only those with a gift or refund in the period.", false},
	{"IMPACTD_WORKERS", "4", "Statement jobs each impactd process works at once.", false},
	{"IMPACTD_SEND_RATE", "0", "Most emails per second from each impactd process; `0` is unlimited.", false},
	{"IMPACTD_SEND_ATTEMPTS", "6", "Send attempts per statement before it is marked failed (temporary errors only; a permanent one fails at once).", false},
	{"IMPACTD_RETRY_BACKOFF", "1m", "Delay before the first retry of a temporary mail error; it doubles each time (at most 1h), with ±20% jitter.", false},
	{"IMPACTD_JOB_LEASE", "2m", "How long a claimed job belongs to its process if its liveness cannot be checked; a crashed process's jobs are normally taken over within `IMPACTD_TAKEOVER_GRACE`.", false},
	{"IMPACTD_TAKEOVER_GRACE", "10s", "How long a worker must look dead (its PostgreSQL advisory lock or SQLite lock file free) before its jobs are taken over; rides out a database restart.", false},
	{"IMPACTD_BREAKER_FAILURES", "10", "A run pauses after this many permanent refusals in a row to different recipients, counted across every replica, and the streak's bounces are taken back; `0` never pauses for that. A relay that refuses the sender, our credentials or TLS pauses it at once.", false},
	{"IMPACTD_RELAY_DOWN_AFTER", "3", "A run pauses after this many failed tries in a row to reach the mail relay (connection refused, DNS, a timeout while connecting), counted across every replica; each process tries again after 1 s, then 2 s, 4 s… Nobody's send attempts are used up meanwhile.", false},
	{"IMPACTD_SHUTDOWN_GRACE", "10s", "How long a process told to stop keeps trying to record send outcomes while the database is away; after it, an unrecorded one is left to be counted interrupted and sent again under the same Message-ID.", false},
	{"IMPACTD_SQLITE_BUSY_TIMEOUT", "10s", "How long SQLite waits for another process's lock before the statement is retried.", false},
	{"IMPACTD_STAFF_EMAIL", "", "Where each run's summary is emailed; none when unset.", false},
	{"IMPACTD_HSTS", "off", "`off`, `on` (a year) or a duration such as `8760h`: send `Strict-Transport-Security` with that max-age. Only for HTTPS deployments: needs an `https://` `IMPACTD_BASE_URL`.", false},
	{"IMPACTD_METRICS_ADDR", "", "Address of a second listener that serves only `/metrics` (e.g. `127.0.0.1:9090`, or `:9090` inside a container network). Unset: `/metrics` is served on `IMPACTD_HTTP_ADDR`, and only when `IMPACTD_METRICS_TOKEN` is set.", false},
	{"IMPACTD_METRICS_TOKEN", "", "Bearer token `/metrics` requires (`Authorization: Bearer …`), at least 16 characters; on either address. With neither this nor `IMPACTD_METRICS_ADDR`, `/metrics` is not served.", true},
	{"IMPACTD_LOG_LEVEL", "info", "`debug`, `info`, `warn` or `error`.", false},
	{"IMPACTD_LOG_FORMAT", "json", "`json` or `text`.", false},
	{"IMPACTD_COOKIE_SECURE", "true", "Mark the staff console's session cookie `Secure` (HTTPS only). Set `false` only for local plain-http use.", false},
	{"IMPACTD_SESSION_TTL", "12h", "How long a staff console sign-in lasts.", false},
	{"IMPACTD_STATEMENT_LINK_TTL", "2160h", "How long the statement link in an email works (default 90 days).", false},
}

// Load reads the configuration through getenv and validates it. Every error
// names the variable at fault; all errors are reported together.
func Load(getenv func(string) string) (*Config, error) {
	var errs []error
	get := func(name string) string {
		var v Var
		for _, x := range Vars {
			if x.Name == name {
				v = x
			}
		}
		if val := getenv(name); val != "" {
			return strings.TrimSpace(val)
		}
		if v.Secret {
			if path := getenv(name + "_FILE"); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
					return ""
				}
				return strings.TrimSpace(string(b))
			}
		}
		return v.Default
	}
	c := &Config{
		DatabaseURL:         get("IMPACTD_DATABASE_URL"),
		HTTPAddr:            get("IMPACTD_HTTP_ADDR"),
		BaseURL:             strings.TrimRight(get("IMPACTD_BASE_URL"), "/"),
		StripeWebhookSecret: get("IMPACTD_STRIPE_WEBHOOK_SECRET"),
		StripeAPIKey:        get("IMPACTD_STRIPE_API_KEY"),
		StripeAPIBase:       strings.TrimRight(get("IMPACTD_STRIPE_API_BASE"), "/"),
		DonationRule:        get("IMPACTD_DONATION_RULE"),
		SMTPURL:             get("IMPACTD_SMTP_URL"),
		MailFrom:            get("IMPACTD_MAIL_FROM"),
		MailFromName:        get("IMPACTD_MAIL_FROM_NAME"),
		MailReplyTo:         get("IMPACTD_MAIL_REPLY_TO"),
		OrgName:             get("IMPACTD_ORG_NAME"),
		OrgCharityNumber:    get("IMPACTD_ORG_CHARITY_NUMBER"),
		OrgWebsite:          get("IMPACTD_ORG_WEBSITE"),
		OrgEmail:            get("IMPACTD_ORG_EMAIL"),
		OrgSignatory:        get("IMPACTD_ORG_SIGNATORY"),
		OrgSignatoryRole:    get("IMPACTD_ORG_SIGNATORY_ROLE"),
		OrgCountry:          strings.ToUpper(get("IMPACTD_ORG_COUNTRY")),
		TemplatesDir:        get("IMPACTD_TEMPLATES_DIR"),
		PaperSize:           get("IMPACTD_PAPER_SIZE"),
		SecretKey:           get("IMPACTD_SECRET_KEY"),
		LogLevel:            strings.ToLower(get("IMPACTD_LOG_LEVEL")),
		LogFormat:           strings.ToLower(get("IMPACTD_LOG_FORMAT")),
	}
	for _, line := range strings.Split(get("IMPACTD_ORG_ADDRESS"), "|") {
		if line = strings.TrimSpace(line); line != "" {
			c.OrgAddress = append(c.OrgAddress, line)
		}
	}
	if c.MailFromName == "" {
		c.MailFromName = c.OrgName
	}
	var err error
	if c.StripeTolerance, err = time.ParseDuration(get("IMPACTD_STRIPE_WEBHOOK_TOLERANCE")); err != nil || c.StripeTolerance <= 0 {
		errs = append(errs, fmt.Errorf("IMPACTD_STRIPE_WEBHOOK_TOLERANCE: want a positive duration such as 300s"))
	}
	if c.Location, err = time.LoadLocation(get("IMPACTD_TIMEZONE")); err != nil {
		errs = append(errs, fmt.Errorf("IMPACTD_TIMEZONE: %w", err))
	}
	if c.PeriodKind, err = period.ParseKind(get("IMPACTD_PERIOD")); err != nil {
		errs = append(errs, fmt.Errorf("IMPACTD_PERIOD: %w", err))
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		errs = append(errs, fmt.Errorf("IMPACTD_MAIL_FROM %q: not an email address", c.MailFrom))
	}
	if c.MailReplyTo != "" {
		if _, err := mail.ParseAddress(c.MailReplyTo); err != nil {
			errs = append(errs, fmt.Errorf("IMPACTD_MAIL_REPLY_TO %q: not an email address", c.MailReplyTo))
		}
	}
	switch c.PaperSize = strings.ToUpper(c.PaperSize); c.PaperSize {
	case "A4":
	case "LETTER":
		c.PaperSize = "Letter"
	default:
		errs = append(errs, fmt.Errorf("IMPACTD_PAPER_SIZE %q: want A4 or Letter", c.PaperSize))
	}
	if c.OrgCountry != domain.CountryGB && c.OrgCountry != domain.CountryUS {
		errs = append(errs, fmt.Errorf("IMPACTD_ORG_COUNTRY %q: want GB or US", c.OrgCountry))
	}
	png := func(name string) []byte {
		path := get(name)
		if path == "" {
			return nil
		}
		b, err := os.ReadFile(path)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		case !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
			errs = append(errs, fmt.Errorf("%s %q: not a PNG image", name, path))
		default:
			return b
		}
		return nil
	}
	c.OrgLogo = png("IMPACTD_ORG_LOGO_FILE")
	c.OrgSignature = png("IMPACTD_ORG_SIGNATURE_FILE")
	if c.OrgSignature != nil && c.OrgSignatory == "" {
		errs = append(errs, errors.New("IMPACTD_ORG_SIGNATURE_FILE: set IMPACTD_ORG_SIGNATORY too: a signature is printed above its signatory's name"))
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		errs = append(errs, errors.New("IMPACTD_SECRET_KEY: must be at least 32 characters"))
	}
	if !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		errs = append(errs, fmt.Errorf("IMPACTD_BASE_URL %q: want an http:// or https:// URL", c.BaseURL))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("IMPACTD_LOG_LEVEL %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("IMPACTD_LOG_FORMAT %q: want json or text", c.LogFormat))
	}
	if c.CookieSecure, err = strconv.ParseBool(get("IMPACTD_COOKIE_SECURE")); err != nil {
		errs = append(errs, errors.New("IMPACTD_COOKIE_SECURE: want true or false"))
	}
	if c.SessionTTL, err = time.ParseDuration(get("IMPACTD_SESSION_TTL")); err != nil || c.SessionTTL < time.Minute {
		errs = append(errs, errors.New("IMPACTD_SESSION_TTL: want a duration of at least 1m, such as 12h"))
	}
	if c.StatementLinkTTL, err = time.ParseDuration(get("IMPACTD_STATEMENT_LINK_TTL")); err != nil || c.StatementLinkTTL < time.Hour {
		errs = append(errs, errors.New("IMPACTD_STATEMENT_LINK_TTL: want a duration of at least 1h, such as 2160h"))
	}
	if c.StripeAPIBase != "" && !strings.HasPrefix(c.StripeAPIBase, "http://") && !strings.HasPrefix(c.StripeAPIBase, "https://") {
		errs = append(errs, fmt.Errorf("IMPACTD_STRIPE_API_BASE %q: want an http:// or https:// URL", c.StripeAPIBase))
	}
	parseSchedule := func(name, spec string) *schedule.Schedule {
		if strings.EqualFold(spec, "off") || c.Location == nil {
			return nil
		}
		sc, err := schedule.Parse(spec, c.Location)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return nil
		}
		if now := time.Now(); !sc.Next(now).Before(now.AddDate(1, 0, 0).Add(24*time.Hour)) || sc.Next(now).IsZero() {
			// robfig/cron gives the zero time for a date that never comes
			// (31 February); a schedule that waits over a year is as wrong.
			errs = append(errs, fmt.Errorf("%s %q: never fires within a year (check the day and month); use off to disable runs", name, spec))
			return nil
		}
		return sc
	}
	c.Schedule = parseSchedule("IMPACTD_SCHEDULE", get("IMPACTD_SCHEDULE"))
	annualSpec := get("IMPACTD_ANNUAL_SCHEDULE")
	if annualSpec == "" {
		annualSpec = schedule.DefaultAnnual(c.OrgCountry)
	}
	c.AnnualSchedule = parseSchedule("IMPACTD_ANNUAL_SCHEDULE", annualSpec)
	switch k := strings.ToLower(get("IMPACTD_ANNUAL_PERIOD")); k {
	case "":
		c.AnnualPeriodKind = period.Year
		if c.OrgCountry == domain.CountryGB {
			c.AnnualPeriodKind = period.TaxYear
		}
	case string(period.Year), string(period.TaxYear):
		c.AnnualPeriodKind = period.Kind(k)
	default:
		errs = append(errs, fmt.Errorf("IMPACTD_ANNUAL_PERIOD %q: want taxyear or year", k))
	}
	c.MarketingConsentMetadata = get("IMPACTD_MARKETING_CONSENT_METADATA")
	if c.TemplatesDir != "" {
		unknown, err := wording.UnknownFiles(c.TemplatesDir)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("IMPACTD_TEMPLATES_DIR: %w", err))
		case len(unknown) > 0:
			errs = append(errs, fmt.Errorf("IMPACTD_TEMPLATES_DIR %q: %s override no template; the names are %s",
				c.TemplatesDir, strings.Join(unknown, ", "), strings.Join(wording.Files, ", ")))
		}
	}
	duration := func(name string, min time.Duration) time.Duration {
		d, err := Duration(get(name))
		if err != nil || d < min {
			errs = append(errs, fmt.Errorf("%s %q: want a duration of at least %s, such as 90s or 5m", name, get(name), min))
		}
		return d
	}
	c.ScheduleCatchUp = duration("IMPACTD_SCHEDULE_CATCHUP", 0)
	c.RetryBackoff = duration("IMPACTD_RETRY_BACKOFF", time.Millisecond)
	c.JobLease = duration("IMPACTD_JOB_LEASE", time.Second)
	c.TakeoverGrace = duration("IMPACTD_TAKEOVER_GRACE", 100*time.Millisecond)
	c.SQLiteBusyTimeout = duration("IMPACTD_SQLITE_BUSY_TIMEOUT", time.Millisecond)
	c.ShutdownGrace = duration("IMPACTD_SHUTDOWN_GRACE", 10*time.Millisecond)
	if c.RelayDownAfter, err = strconv.Atoi(get("IMPACTD_RELAY_DOWN_AFTER")); err != nil || c.RelayDownAfter < 1 || c.RelayDownAfter > 1000 {
		errs = append(errs, fmt.Errorf("IMPACTD_RELAY_DOWN_AFTER %q: want a whole number from 1 to 1000", get("IMPACTD_RELAY_DOWN_AFTER")))
	}
	if c.BreakerFailures, err = strconv.Atoi(get("IMPACTD_BREAKER_FAILURES")); err != nil || c.BreakerFailures < 0 || c.BreakerFailures > 100000 {
		errs = append(errs, fmt.Errorf("IMPACTD_BREAKER_FAILURES %q: want a whole number, 0 to turn the breaker off", get("IMPACTD_BREAKER_FAILURES")))
	}
	if c.IncludeMonthly, err = strconv.ParseBool(get("IMPACTD_RUN_INCLUDE_MONTHLY")); err != nil {
		errs = append(errs, fmt.Errorf("IMPACTD_RUN_INCLUDE_MONTHLY %q: want true or false", get("IMPACTD_RUN_INCLUDE_MONTHLY")))
	}
	if c.Workers, err = strconv.Atoi(get("IMPACTD_WORKERS")); err != nil || c.Workers < 1 || c.Workers > 256 {
		errs = append(errs, fmt.Errorf("IMPACTD_WORKERS %q: want a whole number from 1 to 256", get("IMPACTD_WORKERS")))
	}
	if c.SendAttempts, err = strconv.Atoi(get("IMPACTD_SEND_ATTEMPTS")); err != nil || c.SendAttempts < 1 {
		errs = append(errs, fmt.Errorf("IMPACTD_SEND_ATTEMPTS %q: want a whole number of at least 1", get("IMPACTD_SEND_ATTEMPTS")))
	}
	if c.SendRate, err = strconv.ParseFloat(get("IMPACTD_SEND_RATE"), 64); err != nil || c.SendRate < 0 {
		errs = append(errs, fmt.Errorf("IMPACTD_SEND_RATE %q: want messages per second, 0 for unlimited", get("IMPACTD_SEND_RATE")))
	}
	if c.StaffEmail = get("IMPACTD_STAFF_EMAIL"); c.StaffEmail != "" {
		if _, err := mail.ParseAddress(c.StaffEmail); err != nil {
			errs = append(errs, fmt.Errorf("IMPACTD_STAFF_EMAIL %q: not an email address", c.StaffEmail))
		}
	}
	switch hsts := strings.ToLower(get("IMPACTD_HSTS")); hsts {
	case "off", "false", "0", "":
	default:
		maxAge := 365 * 24 * time.Hour
		if hsts != "on" && hsts != "true" {
			if maxAge, err = time.ParseDuration(hsts); err != nil || maxAge < time.Minute {
				errs = append(errs, fmt.Errorf("IMPACTD_HSTS %q: want off, on or a duration of at least 1m such as 8760h", hsts))
				break
			}
		}
		if !strings.HasPrefix(c.BaseURL, "https://") {
			errs = append(errs, fmt.Errorf("IMPACTD_HSTS is on but IMPACTD_BASE_URL %q is not https://: browsers would be told to refuse plain HTTP the deployment serves", c.BaseURL))
			break
		}
		c.HSTS = fmt.Sprintf("max-age=%d", int64(maxAge.Seconds()))
	}
	c.MetricsAddr, c.MetricsToken = get("IMPACTD_METRICS_ADDR"), get("IMPACTD_METRICS_TOKEN")
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		errs = append(errs, errors.New("IMPACTD_METRICS_TOKEN: must be at least 16 characters"))
	}
	if c.MetricsAddr != "" && c.MetricsAddr == c.HTTPAddr {
		errs = append(errs, fmt.Errorf("IMPACTD_METRICS_ADDR %q: must differ from IMPACTD_HTTP_ADDR (unset it to serve /metrics there behind IMPACTD_METRICS_TOKEN)", c.MetricsAddr))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// Duration parses an integer number of seconds or a Go duration; it is for
// flags that accept either.
func Duration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}
