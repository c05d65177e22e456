package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"impactd/internal/domain"
)

// Erased replaces a person's details wherever erasure finds them.
const Erased = "[erased]"

// personalKeys are the keys of a Stripe object that hold a person's contact
// details. Erasure removes them, at every depth, from the stored events that
// concern the person; ids, amounts and states stay.
var personalKeys = map[string]bool{
	"name": true, "email": true, "phone": true, "address": true,
	"billing_details": true, "customer_details": true, "shipping": true, "customer_shipping": true,
	"customer_address": true, "customer_email": true, "customer_name": true, "customer_phone": true,
	"receipt_email": true, "description": true,
	// A dispute's evidence, a checkout's collected fields and tax ids, and
	// metadata (free text the donation form fills): after an erasure no
	// needle is left to find the person in them, so they go whole.
	"customer_email_address": true, "customer_purchase_ip": true, "billing_address": true, "shipping_address": true,
	"shipping_details": true, "uncategorized_text": true, "access_activity_log": true,
	"collected_information": true, "custom_fields": true, "individual_name": true,
	"tax_ids": true, "customer_tax_ids": true, "metadata": true,
}

// ScrubPayload removes personal keys (name, email, address, phone …) at
// every depth of a stored Stripe object and replaces every occurrence of a
// needle (compared without case) in the strings that remain. It reports
// whether anything changed.
func ScrubPayload(payload string, needles []string) (string, bool, error) {
	return scrubJSON(payload, personalKeys, needles)
}

func scrubJSON(doc string, drop map[string]bool, needles []string) (string, bool, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// Not JSON: scrub it as text.
		out := replaceAll(doc, needles)
		return out, out != doc, nil
	}
	changed := false
	var walk func(v any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			for k, child := range t {
				if drop[k] {
					delete(t, k)
					changed = true
					continue
				}
				t[k] = walk(child)
			}
		case []any:
			for i, child := range t {
				t[i] = walk(child)
			}
		case string:
			if s := replaceAll(t, needles); s != t {
				changed = true
				return s
			}
		}
		return v
	}
	v = walk(v)
	if !changed {
		return doc, false, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", false, fmt.Errorf("scrub: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), true, nil
}

// replaceAll replaces every needle in s, ignoring case, with Erased.
func replaceAll(s string, needles []string) string {
	for _, n := range needles {
		if n == "" {
			continue
		}
		low, ln := strings.ToLower(s), strings.ToLower(n)
		if !strings.Contains(low, ln) {
			continue
		}
		var b strings.Builder
		for {
			i := strings.Index(low, ln)
			if i < 0 {
				b.WriteString(s)
				break
			}
			b.WriteString(s[:i])
			b.WriteString(Erased)
			s, low = s[i+len(ln):], low[i+len(ln):]
		}
		s = b.String()
	}
	return s
}

// likeEscape escapes LIKE's wildcards (Stripe ids are full of "_").
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// TextColumn is one column of text in one table.
type TextColumn struct {
	Table  string `db:"table_name"`
	Column string `db:"column_name"`
}

// TextColumns lists every text column of every table of the database, read
// from the catalog (sqlite_master, information_schema), so that what
// searches or erases "everywhere" keeps doing so as tables are added.
func (q Q) TextColumns(ctx context.Context) ([]TextColumn, error) {
	var cs []TextColumn
	query := `SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
			AND (UPPER(p.type) LIKE '%TEXT%' OR UPPER(p.type) LIKE '%CHAR%' OR UPPER(p.type) LIKE '%CLOB%' OR p.type = '')
		ORDER BY 1, 2`
	if q.dialect == Postgres {
		query = `SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')
			ORDER BY 1, 2`
	}
	if err := q.selectAll(ctx, &cs, query); err != nil {
		return nil, fmt.Errorf("text columns: %w", err)
	}
	return cs, nil
}

// explicitlyErased are the tables EraseDonor treats one by one; every other
// table gets the catalog-wide sweep for the person's email addresses. staff
// and staff_sessions are left alone: a supporter who is also a member of
// staff keeps their sign-in.
var explicitlyErased = []string{"donors", "donor_emails", "bounces", "stripe_events", "payment_hints", "statements",
	"staff", "staff_sessions", "goose_db_version"}

// EraseDonor removes a donor's personal data — name, email addresses, postal
// address, phone — from every table: the donor (and any donor merged into
// it), their email links, their payment hints, the stored Stripe events that
// concern them (found by their customer, charge, payment intent, invoice,
// subscription, refund and dispute ids or an email address), their
// statements' snapshots and diffs, deliveries, jobs, bounces and the audit
// log, and then, in every other text column of every table, any of their
// email addresses. Their letters stop. Amounts and ids stay, for the accounts.
//
// It first waits for the Stripe events being applied and keeps new ones
// waiting until it commits (BlockErasure): an event applied at the same time
// could otherwise read the donor as not erased and store their details after
// the erasure had looked.
func (q Q) EraseDonor(ctx context.Context, id string, now int64) error {
	fail := func(err error) error { return fmt.Errorf("erase donor: %w", err) }
	if err := q.lockForErasure(ctx); err != nil {
		return fail(err)
	}
	d, err := q.Donor(ctx, id)
	if err != nil {
		return fail(err)
	}
	donorIDs := []string{id}
	var merged []string
	if err := q.selectAll(ctx, &merged, `SELECT id FROM donors WHERE merged_into = ?`, id); err != nil {
		return fail(err)
	}
	donorIDs = append(donorIDs, merged...)
	in, args := inList(donorIDs)

	// What names the person, and what identifies their records.
	var emails, customers, refs []string
	if err := q.selectAll(ctx, &emails, `SELECT email FROM donor_emails WHERE donor_id IN `+in, args...); err != nil {
		return fail(err)
	}
	if err := q.selectAll(ctx, &customers, `SELECT stripe_customer_id FROM donor_customers WHERE donor_id IN `+in, args...); err != nil {
		return fail(err)
	}
	for _, query := range []string{
		`SELECT stripe_charge_id FROM donations WHERE donor_id IN ` + in,
		`SELECT payment_intent_id FROM donations WHERE payment_intent_id <> '' AND donor_id IN ` + in,
		`SELECT invoice_id FROM donations WHERE invoice_id <> '' AND donor_id IN ` + in,
		`SELECT subscription_id FROM donations WHERE subscription_id <> '' AND donor_id IN ` + in,
		`SELECT id FROM subscriptions WHERE donor_id IN ` + in,
		`SELECT r.id FROM refunds r JOIN donations g ON g.id = r.donation_id WHERE r.synthetic = 0 AND g.donor_id IN ` + in,
		`SELECT p.id FROM disputes p JOIN donations g ON g.stripe_charge_id = p.charge_id WHERE g.donor_id IN ` + in,
	} {
		var got []string
		if err := q.selectAll(ctx, &got, query, args...); err != nil {
			return fail(err)
		}
		refs = append(refs, got...)
	}
	refs = append(refs, customers...)
	// Payment hints are keyed by payment intent: any ref that is one
	// matches. "-" stands in for an empty list (no Stripe value is "-").
	var hints []PaymentHint
	hintIn, hintArgs := inList(nonEmpty(refs, "-"))
	custIn, custArgs := inList(nonEmpty(customers, "-"))
	mailIn, mailArgs := inList(nonEmpty(append(slices.Clone(emails), d.Email), "-"))
	hintWhere := `payment_intent_id IN ` + hintIn + ` OR customer_id IN ` + custIn + ` OR email IN ` + mailIn
	hintAll := append(append(slices.Clone(hintArgs), custArgs...), mailArgs...)
	if err := q.selectAll(ctx, &hints, `SELECT payment_intent_id, customer_id, email, name, address, subscription_id, designation,
		is_donation, updated_at FROM payment_hints WHERE `+hintWhere, hintAll...); err != nil {
		return fail(err)
	}
	needles := []string{d.Name, d.Email}
	needles = append(needles, emails...)
	needles = append(needles, strings.Split(d.Address, "\n")...)
	for _, h := range hints {
		if h.Email != Erased {
			needles = append(needles, h.Email, h.Name)
		}
		needles = append(needles, strings.Split(h.Address, "\n")...)
		if h.CustomerID != "" && !slices.Contains(customers, h.CustomerID) && !slices.Contains(refs, h.CustomerID) {
			refs = append(refs, h.CustomerID)
		}
	}
	needles = cleanNeedles(needles)
	mails := cleanNeedles(append(emails, d.Email))
	// In the records that are theirs (events, snapshots, audit entries about
	// them) a first or last name alone names them too.
	own := slices.Clone(needles)
	for _, n := range needles {
		if !strings.Contains(n, "@") && !strings.ContainsAny(n, "0123456789") {
			own = append(own, strings.Fields(n)...)
		}
	}
	own = cleanNeedles(own)

	// The donor and everything keyed by them.
	if _, err := q.exec(ctx, `UPDATE donors SET status = ?, name = '', email = '', address = '', search_key = '', marketing_consent = '', letters = 'none', updated_at = ? WHERE id = ?`,
		domain.DonorErased, now, id); err != nil {
		return fail(err)
	}
	if _, err := q.exec(ctx, `UPDATE donors SET name = '', email = '', address = '', search_key = '', marketing_consent = '', letters = 'none', updated_at = ? WHERE merged_into = ?`, now, id); err != nil {
		return fail(err)
	}
	if _, err := q.exec(ctx, `DELETE FROM donor_emails WHERE donor_id IN `+in, args...); err != nil {
		return fail(err)
	}
	// A postal letter's postcode (which orders its print batch) is theirs
	// too; the batch's PDF and manifest, made from the erased snapshots,
	// then hold no name or address either.
	if _, err := q.exec(ctx, `UPDATE deliveries SET postcode = '', country = '' WHERE donor_id IN `+in, args...); err != nil {
		return fail(err)
	}
	// What a gift gave in return is free text from the donation form ("two
	// dinner tickets for …"): it goes; its value stays, like every amount.
	if _, err := q.exec(ctx, `UPDATE donations SET benefit_description = '' WHERE benefit_description <> '' AND donor_id IN `+in, args...); err != nil {
		return fail(err)
	}
	// The hint keeps Erased for its email: a charge of the payment that
	// arrives later is then known as theirs (ConcernsErased), and
	// SavePaymentHint never fills the blanks again.
	if _, err := q.exec(ctx, `UPDATE payment_hints SET email = ?, name = '', address = '' WHERE `+hintWhere,
		append([]any{Erased}, hintAll...)...); err != nil {
		return fail(err)
	}
	if len(mails) > 0 {
		bin, bargs := inList(mails)
		if _, err := q.exec(ctx, `DELETE FROM bounces WHERE email IN `+bin, bargs...); err != nil {
			return fail(err)
		}
	}
	if err := q.eraseEvents(ctx, refs, mails, own); err != nil {
		return fail(err)
	}
	if err := q.eraseStatements(ctx, in, args, own); err != nil {
		return fail(err)
	}
	if err := q.eraseAudit(ctx, in, args, own); err != nil {
		return fail(err)
	}
	// Every other text column: the audit log's reasons, deliveries' mail
	// server answers, jobs' errors, and tables added later.
	cols, err := q.TextColumns(ctx)
	if err != nil {
		return fail(err)
	}
	for _, c := range cols {
		if slices.Contains(explicitlyErased, c.Table) {
			continue
		}
		sweep := mails
		if c.Table == "audit_log" {
			sweep = needles // staff write reasons such as "asked by <name> on the phone"
		}
		if err := q.sweepColumn(ctx, c, sweep); err != nil {
			return fail(err)
		}
	}
	return nil
}

// eraseEvents scrubs the stored Stripe events that mention any of the
// person's ids or email addresses. Each batch is one scan of the table.
func (q Q) eraseEvents(ctx context.Context, refs, mails, needles []string) error {
	patterns := make([]string, 0, len(refs)+len(mails))
	for _, r := range append(slices.Clone(refs), mails...) {
		if r != "" {
			patterns = append(patterns, "%"+likeEscape(strings.ToLower(r))+"%")
		}
	}
	slices.Sort(patterns)
	patterns = slices.Compact(patterns)
	for len(patterns) > 0 {
		batch := patterns[:min(50, len(patterns))]
		patterns = patterns[len(batch):]
		var where []string
		var args []any
		for _, p := range batch {
			where = append(where, `LOWER(payload) LIKE ? ESCAPE '\'`)
			args = append(args, p)
		}
		var evs []StripeEvent
		if err := q.selectAll(ctx, &evs, `SELECT id, payload FROM stripe_events WHERE `+strings.Join(where, " OR "), args...); err != nil {
			return err
		}
		for _, ev := range evs {
			out, changed, err := ScrubPayload(ev.Payload, needles)
			if err != nil {
				return err
			}
			if changed {
				if _, err := q.exec(ctx, `UPDATE stripe_events SET payload = ? WHERE id = ?`, out, ev.ID); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// eraseAudit removes the person's details from the reasons and details of
// the audit entries about them (any donor id of theirs is the subject).
func (q Q) eraseAudit(ctx context.Context, in string, args []any, needles []string) error {
	var es []AuditEntry
	if err := q.selectAll(ctx, &es, `SELECT id, actor, action, subject, reason, detail, created_at FROM audit_log WHERE subject IN `+in, args...); err != nil {
		return err
	}
	for _, e := range es {
		reason, _, err := scrubJSON(e.Reason, nil, needles)
		if err != nil {
			return err
		}
		detail, _, err := scrubJSON(e.Detail, nil, needles)
		if err != nil {
			return err
		}
		if reason != e.Reason || detail != e.Detail {
			if _, err := q.exec(ctx, `UPDATE audit_log SET reason = ?, detail = ? WHERE id = ?`, reason, detail, e.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// eraseStatements blanks the donor in their statements' snapshots (the
// letter's name, address and greeting) and removes the person's details from
// every other string of the snapshot and from the correction diff.
func (q Q) eraseStatements(ctx context.Context, in string, args []any, needles []string) error {
	var sts []domain.Statement
	if err := q.selectAll(ctx, &sts, `SELECT `+statementCols+` FROM statements WHERE donor_id IN `+in, args...); err != nil {
		return err
	}
	for _, st := range sts {
		snap, err := domain.DecodeSnapshot([]byte(st.Snapshot))
		if err != nil {
			return err
		}
		snap.Donor.Name, snap.Donor.Address, snap.Greeting = "", nil, ""
		for i := range snap.Gifts {
			if snap.Gifts[i].Benefit != nil {
				snap.Gifts[i].Benefit.Description = ""
			}
		}
		b, err := snap.Encode()
		if err != nil {
			return err
		}
		text, _, err := scrubJSON(string(b), nil, needles)
		if err != nil {
			return err
		}
		diff, _, err := scrubJSON(st.Diff, nil, needles)
		if err != nil {
			return err
		}
		if _, err := q.exec(ctx, `UPDATE statements SET snapshot = ?, diff = ? WHERE id = ?`, text, diff, st.ID); err != nil {
			return err
		}
	}
	return nil
}

// sweepColumn replaces the needles in one column of one table, wherever
// they are. Rows are matched by their old value, since not every table has
// a one-column key.
func (q Q) sweepColumn(ctx context.Context, c TextColumn, needles []string) error {
	if len(needles) == 0 {
		return nil
	}
	table, col := quoteIdent(c.Table), quoteIdent(c.Column)
	var where []string
	var args []any
	for _, n := range needles {
		where = append(where, `LOWER(`+col+`) LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscape(strings.ToLower(n))+"%")
	}
	var vals []string
	if err := q.selectAll(ctx, &vals, `SELECT DISTINCT `+col+` FROM `+table+` WHERE `+strings.Join(where, " OR "), args...); err != nil {
		return err
	}
	for _, v := range vals {
		out, _, err := scrubJSON(v, nil, needles)
		if err != nil {
			return err
		}
		if out != v {
			if _, err := q.exec(ctx, `UPDATE `+table+` SET `+col+` = ? WHERE `+col+` = ?`, out, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// cleanNeedles drops empty and very short values (a two-letter name would
// match inside other words) and duplicates.
func cleanNeedles(ns []string) []string {
	var out []string
	for _, n := range ns {
		if n = strings.TrimSpace(n); len([]rune(n)) >= 3 && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// nonEmpty returns the distinct non-empty values, or only none when there are none.
func nonEmpty(vals []string, none string) []string {
	var out []string
	for _, v := range vals {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		out = []string{none}
	}
	return out
}

// inList returns "(?, ?, …)" and its arguments; values must not be empty.
func inList(vals []string) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")", args
}

// quoteIdent quotes a table or column name read from the catalog.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ConcernsErased reports whether any of the Stripe ids names a record of an
// erased donor: their customer, a charge or payment intent of their gifts,
// or a payment hint erased with them. (Refunds, disputes, invoices and
// subscriptions always name their charge, payment intent or customer too;
// a merged donor's records have all moved to the donor it was merged into.)
// It runs for every event, so it is one statement that looks ids up by
// index and then their donors by primary key, whatever the number of ids.
func (q Q) ConcernsErased(ctx context.Context, ids []string) (bool, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) > 0 && ids[0] == "" {
		ids = ids[1:]
	}
	if len(ids) == 0 {
		return false, nil
	}
	list, err := q.textsArg(ids)
	if err != nil {
		return false, fmt.Errorf("concerns erased: %w", err)
	}
	donors := `SELECT donor_id FROM donor_customers WHERE ` + q.inTexts("stripe_customer_id") + `
		UNION ALL SELECT donor_id FROM donations WHERE ` + q.inTexts("stripe_charge_id") + `
		UNION ALL SELECT donor_id FROM donations WHERE ` + q.inTexts("payment_intent_id")
	var n int
	err = q.get(ctx, &n, `SELECT (SELECT COUNT(*) FROM donors WHERE `+q.inSubquery("id", donors)+` AND status = ?)
		+ (SELECT COUNT(*) FROM payment_hints WHERE `+q.inTexts("payment_intent_id")+` AND email = ?)`,
		list, list, list, domain.DonorErased, list, Erased)
	if err != nil {
		return false, fmt.Errorf("concerns erased: %w", err)
	}
	return n > 0, nil
}

// ForgetPaymentHint removes the contact details from a payment's hint and
// marks it erased, like EraseDonor.
func (q Q) ForgetPaymentHint(ctx context.Context, paymentIntentID string) error {
	if _, err := q.exec(ctx, `UPDATE payment_hints SET email = ?, name = '', address = '' WHERE payment_intent_id = ?`,
		Erased, paymentIntentID); err != nil {
		return fmt.Errorf("forget payment hint: %w", err)
	}
	return nil
}

// ScrubEvent removes the personal keys from one stored event: the event of
// a donor who was erased before it arrived.
func (q Q) ScrubEvent(ctx context.Context, id string) error {
	var payload string
	if err := q.get(ctx, &payload, `SELECT payload FROM stripe_events WHERE id = ?`, id); err != nil {
		return fmt.Errorf("scrub event: %w", notFound(err, "event"))
	}
	out, changed, err := ScrubPayload(payload, nil)
	if err != nil || !changed {
		return err
	}
	if _, err := q.exec(ctx, `UPDATE stripe_events SET payload = ? WHERE id = ?`, out, id); err != nil {
		return fmt.Errorf("scrub event: %w", err)
	}
	return nil
}
