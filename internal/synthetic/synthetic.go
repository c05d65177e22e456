// Package synthetic makes a realistic, deterministic donation history — the
// Stripe events an account of charity supporters would have produced — for
// the demo, tests and benchmarks. It writes Stripe's own JSON shapes, so the
// history goes through exactly the code real webhooks and API reads do.
package synthetic

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/stripe/stripe-go/v76"

	"impactd/internal/ingest"
	"impactd/internal/period"
)

// Names from many scripts. Every name a supporter might have must print.
var (
	given = []string{
		"Olivia", "James", "Amelia", "Oliver", "Isla", "George", "Aisha", "Mohammed", "Priya", "Arjun",
		"Zoë", "Łucja", "Małgorzata", "Wojciech", "Søren", "Åsa", "Björn", "Chloé", "François", "Renée",
		"José", "Inês", "Jürgen", "Grzegorz", "Siobhán", "Tadhg", "Ngọc Ánh", "Thị Hương", "Minh Tuấn",
		"Дмитрий", "Наталья", "Олександр", "Γιώργος", "Ελένη", "Σωκράτης", "Ayşe", "Mehmet", "Chiara", "Kwame", "Adaeze",
	}
	family = []string{
		"Smith", "Jones", "Taylor", "Brown", "Williams", "Patel", "Khan", "O'Brien", "MacDonald", "Nguyễn",
		"Trần", "Phạm", "Łukasiewicz", "Wiśniewska", "Kowalczyk", "Müller", "Schäfer", "Dvořák", "Núñez",
		"Gonçalves", "Øvergaard", "Соколов", "Иванова", "Шевченко", "Παπαδόπουλος", "Οικονόμου", "Yılmaz",
		"Fitzgerald-Hughes", "de la Cruz", "Okonkwo", "Mensah", "Rossi",
	}
	cities = []struct{ city, postcode, country string }{
		{"London", "SE1 7TP", "GB"}, {"Manchester", "M1 1AE", "GB"}, {"Edinburgh", "EH1 1YZ", "GB"},
		{"Cardiff", "CF10 1EP", "GB"}, {"Belfast", "BT1 5GS", "GB"}, {"Bristol", "BS1 4DJ", "GB"},
		{"Dublin", "D02 X285", "IE"}, {"New York", "10001", "US"}, {"Berlin", "10115", "DE"},
	}
	streets = []string{"High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane", "Park Avenue", "Queen's Road"}
	oneOff  = []int64{1000, 1500, 2000, 2500, 3000, 5000, 7500, 10000, 25000, 50000}
	monthly = []int64{500, 800, 1000, 1500, 2000, 2500, 5000}
)

// donorSpec is one synthetic supporter.
type donorSpec struct {
	customer, name, email string
	address               *stripe.Address
	currency              string
}

// History is a synthetic Stripe account: the events Stripe would have sent
// about its customers and charges, oldest first.
type History struct {
	Donors  int
	Charges int
	Events  []Event
}

// Event is one Stripe event: its id, type, time and data object.
type Event struct {
	ID, Type string
	At       time.Time
	Object   map[string]any
}

// Make builds a deterministic donation history of n supporters over the five
// quarters ending with last. The same inputs always give the same events,
// with the same ids, so pushing them twice changes nothing.
func Make(n int, last period.Period, loc *time.Location) History {
	return MakeCovering(n, last, last, loc)
}

// MakeCovering is Make over a history that also covers the period cover
// from its start: the five quarters ending with last, or from the start of
// cover when that is earlier (the demo's full UK tax year for the annual
// statement). With cover inside those quarters it is Make.
func MakeCovering(n int, last, cover period.Period, loc *time.Location) History {
	rng := rand.New(rand.NewPCG(2011, uint64(n)))
	first := last
	for range 4 {
		first = first.Prev()
	}
	from, _ := first.Bounds(loc)
	if cf, _ := cover.Bounds(loc); cf.Before(from) {
		from = cf
	}
	_, to := last.Bounds(loc)
	span := to.Sub(from)
	h := History{Donors: n}
	var evs []Event
	chargeN, eventN := 0, 0
	nextEvent := func() string { eventN++; return fmt.Sprintf("evt_demo_%05d", eventN) }

	for i := range n {
		d := donorSpec{currency: "gbp"}
		switch {
		case i == 0:
			d.name = "Zoë Łukasiewicz"
		case i == 1:
			d.name = "Ngọc Ánh Nguyễn"
		case i == 2:
			d.name = "Дмитрий Соколов"
		case i == 3:
			d.name = "Σωκράτης Παπαδόπουλος"
		default:
			d.name = given[rng.IntN(len(given))] + " " + family[rng.IntN(len(family))]
		}
		switch r := rng.IntN(100); {
		case r < 12:
			d.currency = "usd"
		case r < 24:
			d.currency = "eur"
		}
		d.email = fmt.Sprintf("supporter%03d@example.org", i)
		guest := i >= 4 && rng.IntN(100) < 20 // known only by email
		if !guest {
			d.customer = fmt.Sprintf("cus_demo_%03d", i)
		}
		if i >= 4 && i%67 == 0 {
			d.email = "" // a supporter without an email address: counted, not written to
		}
		if rng.IntN(100) < 80 {
			c := cities[rng.IntN(len(cities))]
			d.address = &stripe.Address{Line1: fmt.Sprintf("%d %s", 1+rng.IntN(180), streets[rng.IntN(len(streets))]),
				City: c.city, PostalCode: c.postcode, Country: c.country}
		}
		isMonthly := !guest && rng.IntN(100) < 35
		if d.customer != "" {
			firstSeen := from.Add(-time.Duration(1+rng.IntN(300)) * 24 * time.Hour)
			md := map[string]string{}
			if d.currency == "gbp" && rng.IntN(100) < 40 {
				md[ingest.GiftAidKey] = "yes"
				md[ingest.GiftAidDateKey] = firstSeen.Format(time.DateOnly)
			}
			evs = append(evs, Event{ID: nextEvent(), Type: "customer.created", At: firstSeen,
				Object: ingest.CustomerObject(d.customer, d.name, d.email, d.address, firstSeen, md)})
		}
		var gifts []time.Time
		var amounts []int64
		if isMonthly {
			startAt := from.Add(time.Duration(rng.Int64N(int64(span) * 2 / 3)))
			amt := monthly[rng.IntN(len(monthly))]
			for t := startAt; t.Before(to); t = t.AddDate(0, 1, 0) {
				gifts = append(gifts, t)
				amounts = append(amounts, amt)
			}
		} else {
			for range 1 + rng.IntN(3) {
				gifts = append(gifts, from.Add(time.Duration(rng.Int64N(int64(span)))))
				amounts = append(amounts, oneOff[rng.IntN(len(oneOff))])
			}
			// Every fourth one-off supporter also gives in the last quarter,
			// so that quarter has a realistic mix.
			if i%4 == 0 {
				lf, lt := last.Bounds(loc)
				gifts = append(gifts, lf.Add(time.Duration(rng.Int64N(int64(lt.Sub(lf))))))
				amounts = append(amounts, oneOff[rng.IntN(len(oneOff))])
			}
		}
		for g, at := range gifts {
			chargeN++
			ch := ingest.Charge{
				ID: fmt.Sprintf("ch_demo_%05d", chargeN), Customer: d.customer, Name: d.name, Email: d.email,
				Address: d.address, Amount: amounts[g], Currency: d.currency, Created: at,
			}
			if isMonthly {
				ch.Invoice = fmt.Sprintf("in_demo_%05d", chargeN)
				ch.Designation = "Monthly gift"
			} else if rng.IntN(100) < 25 {
				ch.Designation = "Aftercare for survivors"
			}
			evs = append(evs, Event{ID: nextEvent(), Type: "charge.succeeded", At: at, Object: ch.Object()})
			// About one gift in twenty-five is refunded: sometimes in part,
			// sometimes twice, sometimes in the following quarter.
			if rng.IntN(100) < 4 {
				refundAt := at.Add(time.Duration(2+rng.IntN(40)) * 24 * time.Hour)
				if refundAt.After(to) {
					refundAt = to.Add(-time.Hour)
				}
				switch rng.IntN(3) {
				case 0: // full refund
					ch.AmountRefunded = ch.Amount
					evs = append(evs, Event{ID: nextEvent(), Type: "charge.refunded", At: refundAt, Object: ch.Object()})
				case 1: // partial
					ch.AmountRefunded = ch.Amount / 2
					evs = append(evs, Event{ID: nextEvent(), Type: "charge.refunded", At: refundAt, Object: ch.Object()})
				default: // refund after refund
					ch.AmountRefunded = ch.Amount / 4
					evs = append(evs, Event{ID: nextEvent(), Type: "charge.refunded", At: refundAt, Object: ch.Object()})
					ch.AmountRefunded = ch.Amount / 2
					later := refundAt.Add(24 * time.Hour)
					if later.After(to) {
						later = to.Add(-time.Minute)
					}
					evs = append(evs, Event{ID: nextEvent(), Type: "charge.refunded", At: later, Object: ch.Object()})
				}
			}
		}
	}
	h.Charges = chargeN
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
	h.Events = evs
	return h
}

// Latest returns the newest state of every object in the history, by
// object type ("charge", "customer") — what Stripe's API would list now.
func (h History) Latest() map[string][]map[string]any {
	latest := map[string]map[string]any{}
	var order []string
	for _, ev := range h.Events {
		id, _ := ev.Object["id"].(string)
		if _, seen := latest[id]; !seen {
			order = append(order, id)
		}
		latest[id] = ev.Object
	}
	out := map[string][]map[string]any{}
	for _, id := range order {
		obj := latest[id]
		kind, _ := obj["object"].(string)
		out[kind] = append(out[kind], obj)
	}
	return out
}
