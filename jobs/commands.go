package jobs

import (
	"context"

	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"
)

// Command is one entry of a bot's command menu.
type Command struct {
	Command     string `json:"command"` // without the slash
	Description string `json:"description"`
}

// SetCommandsArgs sets the command menu a bot shows in one private chat
// (setMyCommands with BotCommandScopeChat): the owner's admins see the
// admin commands, everyone else the bot's default menu.
type SetCommandsArgs struct {
	TenantID int64     `json:"tenant_id"`
	BotID    int64     `json:"bot_id"`
	ChatID   int64     `json:"chat_id"`
	Commands []Command `json:"commands"`
}

func (SetCommandsArgs) Kind() string { return "telegram.set_commands" }

func (SetCommandsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTelegram, MaxAttempts: 10}
}

// SetCommandsWorker works SetCommandsArgs. Setting the same list again is
// harmless, so a retry is too.
type SetCommandsWorker struct {
	river.WorkerDefaults[SetCommandsArgs]
	deps Deps
}

func (w *SetCommandsWorker) Work(ctx context.Context, job *river.Job[SetCommandsArgs]) error {
	a := job.Args
	bot, err := w.deps.Telegram.Bot(ctx, a.TenantID, a.BotID)
	if err != nil {
		return err
	}
	cmds := make([]telego.BotCommand, len(a.Commands))
	for i, c := range a.Commands {
		cmds[i] = telego.BotCommand{Command: c.Command, Description: c.Description}
	}
	err = bot.SetMyCommands(ctx, &telego.SetMyCommandsParams{
		Commands: cmds,
		Scope:    &telego.BotCommandScopeChat{Type: telego.ScopeTypeChat, ChatID: telego.ChatID{ID: a.ChatID}},
	})
	return w.deps.outcome(ctx, a.TenantID, a.BotID, 0, err)
}
