package sandbox

import (
	"bytes"
	"embed"
	"html/template"

	"github.com/gofiber/fiber/v2"

	"github.com/gatekey/gatekey/membership"
)

//go:embed page.html
var pageHTML string

//go:embed static
var assets embed.FS

// page is the sandbox's one HTML page; the script fills it from the state.
type page struct {
	tmpl *template.Template
}

func mustParsePage() *page {
	// The template is embedded: a parse error is a bug every test shows.
	return &page{tmpl: template.Must(template.New("page").Parse(pageHTML))}
}

// pageData is what the page template shows before the first state arrives.
type pageData struct {
	Bot          string
	Plan         string
	Chats        []string
	PeriodText   string
	ReminderLead string
}

func (s *Sandbox) showPage(c *fiber.Ctx) error {
	w := s.world.Load()
	d := pageData{Bot: w.demo.Bot.Username, Plan: w.demo.Plan.Name, PeriodText: w.demo.Plan.PeriodText(),
		ReminderLead: "a day"}
	for _, ch := range w.demo.Chats {
		d.Chats = append(d.Chats, ch.Title)
	}
	if membership.ReminderLead.Hours() != 24 {
		d.ReminderLead = membership.ReminderLead.String()
	}
	var buf bytes.Buffer
	if err := s.page.tmpl.Execute(&buf, d); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}
