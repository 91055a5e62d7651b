package console

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
)

// DashboardDays is how many days the dashboard's chart covers.
const DashboardDays = 30

type dashboardData struct {
	Stats  membership.Stats
	Chart  chart
	Bots   int
	Plans  int
	Chats  int
	Recent []notification
}

type notification struct {
	Text string
	At   time.Time
}

func (con *Console) dashboard(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var d dashboardData
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) error {
		var err error
		if d.Stats, err = membership.Dashboard(ctx, tx, DashboardDays, time.Now()); err != nil {
			return err
		}
		bots, chats, err := botsAndChats(ctx, tx)
		if err != nil {
			return err
		}
		d.Bots, d.Chats = len(bots), len(chats)
		plans, err := membership.AllPlans(ctx, tx, false)
		d.Plans = len(plans)
		if err != nil {
			return err
		}
		d.Recent, err = recentNotifications(ctx, tx)
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	d.Chart = newChart(d.Stats.Days)
	return con.render(c, 200, "dashboard", "Dashboard", d)
}

// recentNotifications reads what the owner was told lately, newest first.
func recentNotifications(ctx context.Context, tx pgx.Tx) ([]notification, error) {
	rows, err := tx.Query(ctx, "SELECT text, created_at FROM notifications ORDER BY created_at DESC LIMIT 8")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (notification, error) {
		var n notification
		err := r.Scan(&n.Text, &n.At)
		return n, err
	})
}

// chart is the dashboard's bar chart, laid out here so the template only
// draws it: per day, a bar for activations beside one for paid orders.
type chart struct {
	Width, Height int
	Max           int
	Bars          []bar
	Ticks         []tick
	Labels        []label
}

type bar struct {
	X, Y, W, H int
	Class      string
	Title      string
}

type tick struct {
	Y     int
	Label string
}

type label struct {
	X    int
	Text string
}

const (
	chartW, chartH = 720, 240
	chartLeft      = 36
	chartBottom    = 24
)

func newChart(days []membership.DayStats) chart {
	ch := chart{Width: chartW, Height: chartH}
	for _, d := range days {
		ch.Max = max(ch.Max, d.Activations, d.PaidOrders)
	}
	top := niceMax(ch.Max)
	plotH := chartH - chartBottom - 8
	slot := (chartW - chartLeft) / max(1, len(days))
	barW := max(2, (slot-4)/2)
	y := func(v int) int { return 8 + plotH - v*plotH/top }
	for i, d := range days {
		x := chartLeft + i*slot + 2
		day := d.Day.Format("2 Jan")
		ch.Bars = append(ch.Bars,
			bar{X: x, Y: y(d.Activations), W: barW, H: d.Activations * plotH / top, Class: "act",
				Title: day + ": " + membership.Plural(d.Activations, "activation", "activations")},
			bar{X: x + barW, Y: y(d.PaidOrders), W: barW, H: d.PaidOrders * plotH / top, Class: "paid",
				Title: day + ": " + strconv.Itoa(d.PaidOrders) + " paid orders"})
		if (len(days)-1-i)%7 == 0 {
			ch.Labels = append(ch.Labels, label{X: x + barW, Text: day})
		}
	}
	for _, v := range []int{0, top / 2, top} {
		ch.Ticks = append(ch.Ticks, tick{Y: y(v), Label: strconv.Itoa(v)})
	}
	return ch
}

// niceMax rounds the chart's top up to a number that halves evenly.
func niceMax(n int) int {
	for _, v := range []int{2, 4, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000} {
		if n <= v {
			return v
		}
	}
	return (n/100000 + 1) * 100000
}
