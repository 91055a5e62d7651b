package console

import (
	"io/fs"
	"net/http"
	"net/url"
	"slices"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
)

// registerPages mounts the console's pages. Each route carries its own
// middleware, so nothing here touches /telegram, /api or /ops.
func (con *Console) registerPages(r fiber.Router) {
	static, _ := fs.Sub(staticFiles, "static")
	r.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static), MaxAge: 3600}))

	in := []fiber.Handler{con.loadSession, con.signedIn, con.writable}
	out := []fiber.Handler{con.loadSession, con.anonymous}
	get := func(path string, h fiber.Handler) { r.Get(path, slices.Concat(in, []fiber.Handler{h})...) }
	post := func(path string, h fiber.Handler) { r.Post(path, slices.Concat(in, []fiber.Handler{h})...) }

	r.Get("/", con.loadSession, con.home)
	r.Get("/login", slices.Concat(out, []fiber.Handler{con.loginPage})...)
	r.Post("/login", slices.Concat(out, []fiber.Handler{con.login})...)
	r.Get("/signup", slices.Concat(out, []fiber.Handler{con.signupPage})...)
	r.Post("/signup", slices.Concat(out, []fiber.Handler{con.signup})...)
	post("/logout", con.logout)

	get("/dashboard", con.dashboard)

	get("/bots", con.botsPage)
	post("/bots", con.connectBot)
	post("/bots/:id/disconnect", con.disconnectBot)
	post("/bots/:id/token", con.replaceToken)

	get("/plans", con.plansPage)
	get("/plans/new", con.newPlanPage)
	post("/plans", con.createPlan)
	get("/plans/:id/edit", con.editPlanPage)
	post("/plans/:id", con.updatePlan)
	post("/plans/:id/archive", con.archivePlan)

	get("/codes", con.codesPage)
	get("/codes/new", con.newCodesPage)
	post("/codes", con.createCodes)
	get("/codes/export.csv", con.exportCodes)
	get("/codes/batches/:id", con.batchPage)
	get("/codes/batches/:id/csv", con.batchCSV)
	get("/codes/batches/:id/rollback", con.batchRollbackPage)
	post("/codes/batches/:id/rollback", con.rollbackBatch)
	get("/codes/:id", con.codePage)
	post("/codes/:id/delete", con.deleteCode)
	get("/codes/:id/rollback", con.rollbackPage)
	post("/codes/:id/rollback", con.rollback)
	get("/codes/:id/rollback.json", con.rollbackProgress)

	get("/members", con.membersPage)
	get("/members/:id", con.memberPage)
	post("/members/:id/revoke", con.revokeMember)

	get("/billing", con.billingPage)
	post("/billing/connect", con.connectStripe)
	get("/billing/connect/refresh", con.connectRefresh)
	get("/billing/connect/return", con.connectReturn)
	post("/billing/flat", con.subscribeFlat)
	post("/billing/flat/cancel", con.cancelFlat(false))
	post("/billing/flat/resume", con.cancelFlat(true))

	get("/settings", con.settingsPage)
	post("/settings", con.saveSettings)
	post("/settings/notify", con.saveNotify)
	post("/settings/admins/remove", con.removeAdmin)
	post("/settings/owner-link", con.ownerLink)
	post("/settings/keys", con.createKey)
	post("/settings/keys/:id/revoke", con.revokeKey)
}

func (con *Console) home(c *fiber.Ctx) error {
	if session(c) != nil {
		return redirect(c, "/dashboard")
	}
	return redirect(c, "/login")
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
