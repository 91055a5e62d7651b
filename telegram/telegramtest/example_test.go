package telegramtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"

	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// The basic flow: build a world, point telego at the fake, let a user act,
// and check what the bot did.
func Example() {
	fake := telegramtest.NewServer()
	defer fake.Close()
	token, bot := fake.AddBot("shop_bot")
	ann := fake.AddUser("Ann", "ann")
	channel := fake.AddChat("channel", "Premium")

	// The product's webhook; this one only prints what arrives.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u telego.Update
		_ = json.NewDecoder(r.Body).Decode(&u)
		switch {
		case u.Message != nil:
			fmt.Println("webhook: message", u.Message.Text)
		case u.MyChatMember != nil:
			fmt.Println("webhook: my_chat_member", u.MyChatMember.NewChatMember.MemberStatus())
		case u.ChatMember != nil:
			fmt.Println("webhook: chat_member", u.ChatMember.NewChatMember.MemberStatus())
		}
	}))
	defer hook.Close()

	ctx := context.Background()
	api, err := telego.NewBot(token, telego.WithAPIServer(fake.URL()), telego.WithDiscardLogger())
	if err != nil {
		fmt.Println(err)
		return
	}
	err = api.SetWebhook(ctx, &telego.SetWebhookParams{
		URL: hook.URL, SecretToken: "s3cret",
		AllowedUpdates: []string{"message", "my_chat_member", "chat_member"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	_, _ = fake.AddBotToChat(bot.ID, channel.ID, telegramtest.AdminRights{CanInviteUsers: true})
	_, _ = fake.Start(bot.ID, ann.ID, "CODE42")

	link, err := api.CreateChatInviteLink(ctx, &telego.CreateChatInviteLinkParams{ChatID: tu.ID(channel.ID), MemberLimit: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := api.SendMessage(ctx, tu.Message(tu.ID(ann.ID), "Welcome! Your link is ready.")); err != nil {
		fmt.Println(err)
		return
	}
	joined, _, _ := fake.JoinByLink(ann.ID, link.InviteLink)

	fmt.Println("joined:", joined, fake.MemberStatus(channel.ID, ann.ID))
	for _, m := range fake.Messages(bot.ID, ann.ID) {
		fmt.Println("bot said:", m.Text)
	}
	fmt.Println("sendMessage calls:", len(fake.CallsTo("sendMessage")))
	// Output:
	// webhook: my_chat_member administrator
	// webhook: message /start CODE42
	// webhook: chat_member member
	// joined: true member
	// bot said: Welcome! Your link is ready.
	// sendMessage calls: 1
}
