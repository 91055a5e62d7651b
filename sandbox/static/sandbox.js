// Gatekey sandbox: draws the state the server sends and turns clicks into
// the pretend people's actions. Plain JavaScript, no build step.
(() => {
  "use strict";

  // A bot's link: t.me/<username>, with or without ?start=.
  const botLink = /^https?:\/\/t\.me\/[a-z][a-z0-9_]{4,31}(\?|\/?$)/i;
  const inviteLink = /^https?:\/\/t\.me\/(\+|joinchat\/)/i;
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const colours = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];

  const params = new URLSearchParams(location.search);
  let person = Number(params.get("person")) || 0;
  let bot = Number(params.get("bot")) || 0; // the bot's Telegram id; 0 is the demo bot
  let state = null;
  let version = "";
  let aborter = null;
  let generation = 0;

  const $ = (id) => document.getElementById(id);

  // el makes an element: el("div", {class: "x", text: "hi"}, child, ...).
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else if (k === "data") Object.assign(e.dataset, v);
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function showError(message, box) {
    const e = box || $("error");
    e.textContent = message;
    e.hidden = false;
  }

  function hideError(box) {
    (box || $("error")).hidden = true;
  }

  // post sends one action; the answer's error, if any, is shown for people
  // in box (by default under the chat).
  async function post(path, fields, box) {
    let r;
    try {
      r = await fetch(path, { method: "POST", headers: { "X-Gatekey-Sandbox": "1" }, body: new URLSearchParams(fields) });
    } catch (err) {
      showError("The sandbox did not answer. Is gatekey still running?", box);
      return null;
    }
    let data = {};
    try { data = await r.json(); } catch (err) { /* not JSON: say so below */ }
    if (!r.ok) {
      showError(data.error || "Something went wrong (" + r.status + ").", box);
      return null;
    }
    hideError(box);
    return data;
  }

  // act is an action of the current person with the current bot.
  function act(what, fields) {
    return post(`/sandbox/people/${person}/${what}`, Object.assign({ bot }, fields));
  }

  // poll keeps asking for the state; the server answers when it changes.
  // A newer poll (after choosing someone else) ends the older one.
  async function poll() {
    const gen = ++generation;
    if (aborter) aborter.abort();
    for (;;) {
      const mine = new AbortController();
      aborter = mine;
      try {
        const r = await fetch(`/sandbox/state?person=${person}&bot=${bot}&v=${version}`, { signal: mine.signal, cache: "no-store" });
        if (r.status === 400 && bot !== 0) {
          // That bot cannot be played (no longer connected, or the link
          // is from before a restart): back to the demo bot, saying why.
          const data = await r.json().catch(() => ({}));
          if (gen !== generation) return;
          bot = 0;
          version = "";
          remember();
          showError(data.error || "That bot cannot be played here.");
          continue;
        }
        if (!r.ok) throw new Error("status " + r.status);
        const s = await r.json();
        if (gen !== generation) return;
        apply(s);
      } catch (err) {
        if (gen !== generation) return;
        await new Promise((ok) => setTimeout(ok, 1500));
      }
      if (gen !== generation) return;
    }
  }

  function restartPoll() {
    version = "";
    poll();
  }

  function remember() {
    const other = bot && !(state && bot === state.demoBot);
    history.replaceState(null, "", `?person=${person}` + (other ? `&bot=${bot}` : ""));
  }

  // choose plays another person, or another bot.
  function choose(id, toBot = bot) {
    if (id === person && toBot === bot) return;
    person = id;
    bot = toBot;
    hideError();
    remember();
    $("time-note").hidden = true;
    restartPoll();
  }

  function apply(s) {
    const switched = !state || state.person !== s.person || state.botId !== s.botId;
    state = s;
    version = s.version;
    person = s.person;
    bot = s.botId;
    document.body.dataset.version = s.version;
    document.body.dataset.bot = s.bot;
    const me = s.people.find((p) => p.id === s.person);
    document.body.classList.toggle("as-owner", !!(me && me.admin));
    for (const b of document.querySelectorAll(".owner-only")) b.hidden = !(me && me.admin);
    $("as").textContent = me ? `bot · you are ${me.name} (@${me.username})${me.owner ? ", the owner" : me.admin ? ", an admin" : ""}` : "bot";
    document.title = `Sandbox · @${s.bot} · Gatekey`;
    $("avatar").textContent = s.bot.slice(0, 1);
    $("help").hidden = s.botId !== s.demoBot;
    drawBots(s);
    drawPeople(s);
    drawMessages(s, switched);
    drawTime(s, me);
    drawChats(s, me);
    drawBotFather(s);
  }

  // drawBots fills the bot chooser with the connected bots. The options
  // are rebuilt only when the bots change, so an open list stays open.
  let botsKey = "";
  function drawBots(s) {
    const playable = s.bots.filter((b) => b.connected || b.id === s.botId);
    const key = JSON.stringify(playable.map((b) => [b.id, b.username])) + s.botId;
    if (key === botsKey) return;
    botsKey = key;
    const select = $("bot-select");
    select.replaceChildren(...playable.map((b) => el("option", { value: b.id, selected: b.id === s.botId, text: "@" + b.username })));
    select.disabled = playable.length < 2;
  }

  function face(p) {
    return el("span", { class: "face", style: `background:${colours[p.id % colours.length]}`, "aria-hidden": "true", text: p.name.slice(0, 1).toUpperCase() });
  }

  function drawPeople(s) {
    const list = $("people");
    list.replaceChildren(...s.people.map((p) => el("li", {},
      el("button", { type: "button", data: { person: p.id }, "aria-current": p.id === s.person ? "true" : "false", onclick: () => choose(p.id) },
        face(p),
        el("span", { class: "label" },
          el("span", {}, p.name + " ", p.owner ? el("span", { class: "badge owner", text: "owner" })
            : p.admin ? el("span", { class: "badge owner", text: "admin" }) : null),
          el("small", { text: "@" + p.username }),
          el("small", { class: "last", text: p.last || "no messages yet" }))))));
  }

  // Messages

  function drawMessages(s, switched) {
    const box = $("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const items = s.messages.map(message);
    if (items.length === 0) {
      const me = s.people.find((p) => p.id === s.person);
      items.push(el("p", { class: "empty", text: me && me.admin
        ? "You are an admin of this bot. Send /newcode to create an access code, or /members for the admin menu."
        : me && me.owner
          ? `This is the owner's own Telegram account. To manage @${s.bot} from here, get the admin link in the console's Settings and open it with “Open a link…”.`
          : "Nothing here yet. Send /start, or open an activation link as this person." }));
    }
    box.replaceChildren(...items);
    if (switched || atBottom) box.scrollTop = box.scrollHeight;
  }

  function message(m) {
    if (m.kind === "note" || m.kind === "toast") {
      return el("p", { class: `${m.kind} ${m.tone || ""}`, text: m.text });
    }
    const bubble = el("div", { class: "bubble" });
    if (m.document) {
      bubble.append(el("div", { class: "doc" },
        el("span", { class: "icon", text: (m.document.name.split(".").pop() || "file").toUpperCase().slice(0, 4) }),
        el("span", { class: "name" },
          el("a", { href: m.document.url, download: m.document.name, class: "download", text: m.document.name }),
          el("small", { text: size(m.document.size) + " · tap to download" }))));
    }
    if (m.text) bubble.append(linkify(m.text));
    bubble.append(el("span", { class: "meta", text: (m.edited ? "edited " : "") + clock(m.time) }));
    const node = el("div", { class: "msg " + m.kind, data: m.id ? { id: m.id } : {} }, bubble);
    if (m.buttons && m.buttons.length) {
      node.append(el("div", { class: "kb" }, ...m.buttons.map((row) => el("div", { class: "kb-row" },
        ...row.map((b) => el("button", {
          type: "button", class: b.url ? "url" : "", text: b.text, title: b.url || undefined,
          onclick: (ev) => b.url ? openURL(b.url, ev.currentTarget, true) : press(m.id, b.data),
        }))))));
    }
    return node;
  }

  // linkify turns the links in a message into clickable ones.
  function linkify(text) {
    const frag = document.createDocumentFragment();
    const re = /(https?:\/\/[^\s]+|\bt\.me\/[^\s]+)/g;
    let last = 0;
    for (const m of text.matchAll(re)) {
      frag.append(text.slice(last, m.index));
      const url = m[0].startsWith("http") ? m[0] : "https://" + m[0];
      frag.append(el("a", { href: url, class: "link", text: m[0], onclick: (ev) => { ev.preventDefault(); openURL(url, ev.currentTarget, false); } }));
      last = m.index + m[0].length;
    }
    frag.append(text.slice(last));
    return frag;
  }

  function press(messageId, data) {
    act("press", { message: messageId, data });
  }

  // openURL opens a link the way Telegram would: an invite link as the
  // current person; the bot's link as whoever it was given to.
  function openURL(url, anchor, fromButton) {
    if (inviteLink.test(url) || (fromButton && botLink.test(url))) {
      openAs(person, url);
    } else if (botLink.test(url)) {
      askWho(url, anchor);
    } else {
      window.open(url, "_blank", "noopener");
    }
  }

  // openAs opens a link as someone; a bot's link shows that bot's chat.
  async function openAs(id, url) {
    const done = await post(`/sandbox/people/${id}/open`, { link: url, bot });
    if (done) {
      closePopover();
      choose(id, done.bot || bot);
    }
  }

  // askWho asks which person opens a bot link: an owner forwards a code
  // to the person it is for.
  function askWho(url, anchor) {
    const pop = $("popover");
    const people = state.people.slice().sort((a, b) => (a.owner - b.owner));
    pop.replaceChildren(
      el("p", { text: "Open this link as…" }),
      ...people.map((p) => el("button", { type: "button", data: { as: p.id }, onclick: () => openAs(p.id, url) },
        p.name + (p.owner ? " (owner)" : "") + (p.id === person ? " — you now" : ""))),
      el("button", { type: "button", class: "cancel", onclick: closePopover, text: "Cancel" }));
    pop.hidden = false;
    const r = anchor.getBoundingClientRect();
    const left = Math.max(8, Math.min(r.left + window.scrollX, window.scrollX + document.documentElement.clientWidth - pop.offsetWidth - 8));
    pop.style.left = left + "px";
    pop.style.top = (r.bottom + window.scrollY + 4) + "px";
  }

  function closePopover() {
    $("popover").hidden = true;
  }

  document.addEventListener("click", (ev) => {
    const pop = $("popover");
    if (!pop.hidden && !pop.contains(ev.target) && !ev.target.closest("a.link")) closePopover();
  });
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") closePopover(); });

  // Time

  function drawTime(s, me) {
    const box = $("time");
    const name = me ? me.name : "This person";
    if (!s.memberships || s.memberships.length === 0) {
      box.replaceChildren(el("p", { class: "muted small", text: `${name} has no membership yet. Once they activate a code, you can move it forward here to watch the reminder and the removal without waiting.` }));
      return;
    }
    box.replaceChildren(...s.memberships.map((m) => {
      const active = m.status === "active";
      let when = "Lifetime access: it never ends.";
      if (m.endsAt && active) when = `Ends ${date(m.endsAt)} (${relative(m.endsAt, s.now)}).`;
      else if (m.endedAt) when = `Ended ${date(m.endedAt)}.`;
      else if (m.endsAt) when = `Ended ${date(m.endsAt)}.`;
      const can = active && !!m.endsAt;
      return el("div", { class: "ms", data: { membership: m.id } },
        el("h3", {}, m.plan, el("span", { class: "badge " + m.status, text: m.status })),
        el("p", { text: when }),
        el("div", { class: "actions" },
          el("button", { type: "button", data: { ff: "reminder" }, disabled: !can, onclick: () => fastForward(m.id, "reminder") }, "Fast-forward to reminder"),
          el("button", { type: "button", data: { ff: "end" }, disabled: !can, onclick: () => fastForward(m.id, "end") }, "Fast-forward to end")));
    }));
  }

  async function fastForward(id, to) {
    const done = await post(`/sandbox/memberships/${id}/fast-forward`, { to, bot });
    if (done) {
      const note = $("time-note");
      note.textContent = done.message;
      note.hidden = false;
    }
  }

  // Chats

  function drawChats(s, me) {
    const box = $("chats");
    if (!s.chats.length) {
      box.replaceChildren(el("p", { class: "muted small", text: `@${s.bot} is in no channel or group yet. Make one under BotFather, with @${s.bot} as its administrator.` }));
      return;
    }
    const open = new Set([...box.querySelectorAll("details[open]")].map((d) => d.dataset.chat));
    box.replaceChildren(...s.chats.map((c) => {
      const members = c.members.map((m) => el("li", { class: (m.you ? "you " : "") + m.role, text: m.name + (m.role === "bot" ? " (admin)" : m.role !== "member" ? ` (${m.role})` : "") }));
      if (members.length <= 1) members.push(el("li", { class: "none", text: "no members yet" }));
      const links = el("details", { data: { chat: c.id }, open: open.has(String(c.id)) },
        el("summary", { text: `Invite links (${c.links.length})` }),
        c.links.length === 0 ? el("p", { class: "muted small", text: "None yet: the bot makes one per member when they activate a code." }) : null,
        el("ul", { class: "links" }, ...c.links.map((l) => el("li", {},
          el("span", { text: "for " + (l.for || "someone") }),
          el("span", { class: "badge " + l.state.split(" ")[0], text: l.state }),
          el("span", { class: "muted", text: `${l.uses}/${l.limit || "∞"} used` + (l.joinedBy ? " by " + l.joinedBy.join(", ") : "") }),
          el("button", { type: "button", class: "try", data: { try: l.url }, onclick: () => openAs(person, l.url) }, `Try as ${me ? me.name : "me"}`)))));
      return el("div", { class: "chat", data: { chat: c.id } },
        el("h3", {}, c.title, el("span", { class: "badge", text: c.kind === "channel" ? "channel" : "group" })),
        el("ul", { class: "members", "aria-label": "Members of " + c.title }, ...members),
        links,
        c.activity.length ? el("ul", { class: "activity", "aria-label": "What happened in " + c.title }, ...c.activity.slice(-6).map((a) => el("li", { text: a }))) : null);
    }));
  }

  // BotFather

  let preferredChatBot = null; // the bot just made, for the chat form

  function drawBotFather(s) {
    const made = s.bots.filter((b) => b.token);
    $("made-bots").replaceChildren(...made.map((b) => el("li", { data: { bot: b.username } },
      el("div", { class: "row" },
        el("strong", { text: "@" + b.username }),
        b.name !== b.username ? el("span", { class: "muted", text: b.name }) : null,
        el("span", { class: "badge " + (b.connected ? "ok" : "warn"), text: b.connected ? "connected" : "not connected" })),
      tokenLine(b.token))));
    const select = $("chat-bot");
    const key = JSON.stringify(s.bots.map((b) => [b.id, b.connected]));
    if (select.dataset.key === key) return;
    select.dataset.key = key;
    const ready = made.filter((b) => b.connected).pop(); // the latest bot made here that is connected
    const chosen = preferredChatBot || select.value || String(ready ? ready.id : s.botId);
    preferredChatBot = null;
    select.replaceChildren(...s.bots.map((b) => el("option", { value: b.id, selected: String(b.id) === chosen,
      text: "@" + b.username + (b.connected ? "" : " (not connected)") })));
  }

  function tokenLine(token) {
    return el("p", { class: "token" }, el("code", { text: token }),
      el("button", { type: "button", class: "copy", onclick: (ev) => copy(token, ev.currentTarget) }, "Copy"));
  }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (err) {
      // No clipboard API (an address other than localhost is not a secure
      // context): the older way.
      const area = el("textarea", { readonly: true, class: "offscreen" });
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  }

  $("new-bot").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    const box = $("new-bot-done");
    const done = await post("/sandbox/botfather/bots", { username: f.namedItem("username").value, name: f.namedItem("name").value }, $("new-bot-error"));
    box.hidden = !done;
    if (!done) return;
    f.namedItem("username").value = "";
    f.namedItem("name").value = "";
    preferredChatBot = String(done.bot);
    box.replaceChildren(
      el("p", { text: `Done! @${done.username} is made. Use this token to connect it:` }),
      tokenLine(done.token),
      el("p", {}, "Paste it in the console under ", el("a", { href: "/bots" }, "Bots"), ", then add the bot to a channel or group below."));
  });

  $("new-chat").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    const fields = { title: f.namedItem("title").value, kind: f.namedItem("kind").value, bot: f.namedItem("bot").value };
    if (f.namedItem("invite").checked) fields.invite = "on";
    if (f.namedItem("ban").checked) fields.ban = "on";
    const done = await post("/sandbox/botfather/chats", fields, $("new-chat-error"));
    const note = $("new-chat-done");
    note.hidden = !done;
    if (!done) return;
    note.textContent = done.message;
    f.namedItem("title").value = "";
  });

  // Formatting

  function pad(n) { return String(n).padStart(2, "0"); }

  function date(iso) {
    const d = new Date(iso);
    return `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
  }

  function clock(iso) {
    const d = new Date(iso);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function relative(iso, nowISO) {
    const ms = new Date(iso) - new Date(nowISO);
    const abs = Math.abs(ms);
    const unit = abs >= 86400e3 ? ["day", 86400e3] : abs >= 3600e3 ? ["hour", 3600e3] : ["minute", 60e3];
    const n = Math.max(1, Math.floor(abs / unit[1]));
    const span = `${n} ${unit[0]}${n === 1 ? "" : "s"}`;
    return ms >= 0 ? "in " + span : span + " ago";
  }

  function size(n) {
    return n < 1024 ? n + " B" : (n / 1024).toFixed(1) + " KB";
  }

  // Forms

  $("composer").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = ev.target.elements.text;
    const text = input.value.trim();
    if (!text) return;
    if (await act("send", { text })) input.value = "";
  });

  for (const b of document.querySelectorAll("[data-send]")) {
    b.addEventListener("click", () => act("send", { text: b.dataset.send }));
  }

  $("bot-select").addEventListener("change", (ev) => choose(person, Number(ev.target.value)));

  $("open-toggle").addEventListener("click", (ev) => {
    const form = $("open-link");
    form.hidden = !form.hidden;
    ev.currentTarget.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) form.elements.link.focus();
  });

  $("open-link").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = ev.target.elements.link;
    const done = await act("open", { link: input.value });
    if (done) {
      input.value = "";
      choose(person, done.bot || bot);
    }
  });

  $("new-person").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = ev.target.elements.name;
    const done = await post("/sandbox/people", { name: input.value });
    if (done) {
      input.value = "";
      choose(done.person);
    }
  });

  poll();
})();
