/*! TrulyBot chat widget — MIT licence. One script tag, no dependencies:
 *  <script src="https://BOT/widget.js" data-widget-id="WIDGET_ID" async></script>
 * Protocol: docs/widget-protocol.md. All shopper and bot text is inserted with textContent. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-widget-id]");
  if (!script) return;
  var widgetId = script.getAttribute("data-widget-id");
  var registry = (window.__trulybot = window.__trulybot || {});
  if (!widgetId || registry[widgetId]) return;
  var base = new URL(script.src, location.href).origin;
  var KEY = "trulybot:" + widgetId;
  var MAX_TEXT = 2000;
  var cfg, root, els = {}, ws, welcomed = false, fatal = false, idle = false;
  var attempt = 0, retryTimer = 0, typingTimer = 0, seq = 0, outbox = [], awaiting = {};
  var api = (registry[widgetId] = {});

  // ---- storage (localStorage can throw: private mode, disabled cookies) ----
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  function save(patch) {
    var s = load();
    for (var k in patch) s[k] = patch[k];
    try { localStorage.setItem(KEY, JSON.stringify(s)); } catch (e) { /* memory only */ }
  }

  // ---- DOM helpers ----
  function el(tag, cls, text, attrs) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = String(text);
    for (var a in attrs || {}) n.setAttribute(a, attrs[a]);
    return n;
  }
  function safeUrl(u) {
    if (!u) return null;
    try {
      var url = new URL(String(u), location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) { return null; }
  }
  function link(href, text, cls) {
    var a = el("a", cls, text, { target: "_blank", rel: "noopener noreferrer" });
    a.href = href;
    return a;
  }
  function clock(ts) {
    var d = ts ? new Date(ts < 1e12 ? ts * 1000 : ts) : new Date();
    var t = el("time", "ts", d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    t.dateTime = d.toISOString();
    return t;
  }
  function scroll() { els.log.scrollTop = els.log.scrollHeight; }

  var CSS =
    ":host{all:initial}" +
    ".tb{--p:#4f46e5;--t:#fff;position:fixed;bottom:20px;right:20px;z-index:2147483000;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#111}" +
    ".tb.left{right:auto;left:20px}" +
    "button,input{font:inherit}" +
    ".launch{width:56px;height:56px;border-radius:50%;border:0;background:var(--p);color:var(--t);cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:grid;place-items:center}" +
    ".launch svg{width:28px;height:28px;fill:currentColor}" +
    ":focus-visible{outline:3px solid #f59e0b;outline-offset:2px}" +
    ".panel{position:absolute;bottom:68px;right:0;width:370px;max-width:calc(100vw - 24px);height:560px;max-height:calc(100vh - 100px);background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;transition:opacity .2s,transform .2s}" +
    ".left .panel{right:auto;left:0}" +
    ".panel[hidden]{display:none}" +
    ".head{background:var(--p);color:var(--t);padding:12px 14px;display:flex;align-items:center;gap:10px}" +
    ".head img{width:32px;height:32px;border-radius:50%;object-fit:cover}" +
    ".ttl{flex:1;min-width:0}h2{font-size:16px;margin:0;font-weight:600}.who{font-size:12px;opacity:.9}.who:empty{display:none}" +
    ".x{background:none;border:0;color:inherit;font-size:22px;line-height:1;cursor:pointer;padding:4px 8px;border-radius:6px}" +
    ".banner{padding:8px 14px;font-size:13px;background:#fef3c7;color:#78350f}" +
    ".banner.bad{background:#fee2e2;color:#7f1d1d}" +
    ".banner[hidden],.typing[hidden]{display:none}" +
    ".log{list-style:none;margin:0;padding:12px;flex:1;overflow-y:auto;background:#f7f7f9;display:flex;flex-direction:column;gap:8px}" +
    ".m{max-width:85%;display:flex;flex-direction:column;gap:4px}" +
    ".m.u{align-self:flex-end;align-items:flex-end}" +
    ".b{padding:8px 12px;border-radius:14px;background:#fff;border:1px solid #e5e7eb;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".u .b{background:var(--p);color:var(--t);border-color:transparent}" +
    ".u.wait .b{opacity:.6}" +
    ".note .b{background:#fee2e2;border-color:#fecaca;color:#7f1d1d}" +
    ".m.sys{align-self:center;max-width:95%;font-size:12px;color:#4b5563;text-align:center}" +
    ".by{font-size:11px;color:#4b5563;font-weight:600}" +
    ".ts{font-size:11px;color:#6b7280}" +
    ".btns{display:flex;flex-wrap:wrap;gap:6px}" +
    ".btns button{border:1px solid var(--p);color:var(--p);background:#fff;border-radius:16px;padding:5px 12px;cursor:pointer}" +
    ".btns button:disabled{opacity:.5;cursor:default}" +
    ".card{background:#fff;border:1px solid #e5e7eb;border-radius:12px;padding:10px 12px;display:flex;flex-direction:column;gap:6px;min-width:220px}" +
    ".card .h{display:flex;justify-content:space-between;align-items:center;gap:8px;font-weight:600}" +
    ".badge{font-size:12px;font-weight:600;padding:2px 8px;border-radius:10px;background:#e5e7eb;color:#374151}" +
    ".s-shipped,.s-partially_shipped{background:#dbeafe;color:#1e40af}.s-delivered{background:#dcfce7;color:#166534}" +
    ".s-cancelled,.s-refunded,.s-failed{background:#fee2e2;color:#991b1b}.s-on_hold,.s-pending{background:#fef3c7;color:#92400e}" +
    ".card ul{margin:0;padding-left:18px}.card a{color:var(--p)}.ship{font-size:13px}" +
    ".typing{padding:0 14px 6px;color:#6b7280;font-size:12px;background:#f7f7f9}" +
    ".typing i{display:inline-block;width:6px;height:6px;margin-right:3px;border-radius:50%;background:#9ca3af;animation:tb 1s infinite}" +
    ".typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}" +
    "@keyframes tb{50%{opacity:.2}}" +
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb;background:#fff}" +
    "form input{flex:1;min-width:0;border:1px solid #d1d5db;border-radius:20px;padding:8px 12px}" +
    "form button{border:0;border-radius:20px;background:var(--p);color:var(--t);padding:0 16px;cursor:pointer}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    "@media (max-width:480px){.tb.open{inset:0}.open .panel{position:fixed;inset:0;width:100%;max-width:none;height:100%;max-height:none;border-radius:0}.open .launch{display:none}}" +
    "@media (prefers-reduced-motion:reduce){*{transition:none!important;animation:none!important}}";

  // ---- UI ----
  function build() {
    var host = el("div", null, null, { id: "trulybot-" + widgetId, "data-trulybot": widgetId });
    root = host.attachShadow({ mode: "open" });
    var style = el("style", null, CSS);
    var box = (els.box = el("div", "tb" + (cfg.position === "left" ? " left" : "")));
    if (/^#[0-9a-f]{3,8}$/i.test(cfg.primary_color || "")) box.style.setProperty("--p", cfg.primary_color);
    if (/^#[0-9a-f]{3,8}$/i.test(cfg.text_color || "")) box.style.setProperty("--t", cfg.text_color);
    var title = cfg.title || "Chat";
    var launch = (els.launch = el("button", "launch", null, {
      type: "button", "aria-label": "Open chat: " + title, "aria-expanded": "false", "aria-controls": "tb-panel"
    }));
    var NS = "http://www.w3.org/2000/svg", svg = document.createElementNS(NS, "svg"), path = document.createElementNS(NS, "path");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    launch.appendChild(svg);
    var panel = (els.panel = el("section", "panel", null, { id: "tb-panel", role: "dialog", "aria-labelledby": "tb-title" }));
    panel.hidden = true;
    var head = el("div", "head");
    var avatar = safeUrl(cfg.avatar_url);
    if (avatar) {
      var img = el("img", null, null, { alt: "" });
      img.onerror = function () { img.remove(); };
      img.src = avatar;
      head.appendChild(img);
    }
    var ttl = el("div", "ttl");
    els.who = el("div", "who", null, { role: "status" });
    ttl.append(el("h2", null, title, { id: "tb-title" }), els.who);
    head.appendChild(ttl);
    var close = el("button", "x", "\u00d7", { type: "button", "aria-label": "Close chat" });
    head.appendChild(close);
    els.banner = el("div", "banner", null, { role: "status" });
    els.banner.hidden = true;
    els.log = el("div", "log", null, { role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
    els.typing = el("div", "typing", null, { "aria-hidden": "true" });
    els.typing.append(el("i"), el("i"), el("i"), document.createTextNode(" typing"));
    els.typing.hidden = true;
    var form = el("form");
    var label = el("label", "sr", "Message", { for: "tb-in" });
    els.input = el("input", null, null, {
      id: "tb-in", type: "text", maxlength: String(MAX_TEXT), autocomplete: "off", placeholder: "Type a message\u2026"
    });
    form.append(label, els.input, el("button", null, "Send", { type: "submit" }));
    panel.append(head, els.banner, els.log, els.typing, form);
    box.append(panel, launch);
    root.append(style, box);
    (document.body || document.documentElement).appendChild(host);

    launch.addEventListener("click", function () { toggle(panel.hidden); });
    close.addEventListener("click", function () { toggle(false); });
    box.addEventListener("keydown", function (e) { if (e.key === "Escape" && !panel.hidden) toggle(false); });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = els.input.value.trim();
      if (!text) return;
      els.input.value = "";
      send(text);
    });
    greet();
  }

  function toggle(open) {
    els.panel.hidden = !open;
    els.box.classList.toggle("open", open);
    els.launch.setAttribute("aria-expanded", String(open));
    save({ open: open });
    if (open) {
      if (!ws || idle) connect();
      els.input.focus();
      scroll();
    } else {
      els.launch.focus();
    }
  }

  function greet() {
    if (cfg.greeting) addBot({ text: cfg.greeting, buttons: cfg.quick_replies }, null, "greet");
  }

  function addItem(cls) {
    var li = el("div", "m " + cls);
    els.log.appendChild(li);
    return li;
  }

  function addUser(text, ts) {
    var li = addItem("u");
    li.append(el("div", "b", text), clock(ts));
    scroll();
    return li;
  }

  function addNote(text) {
    var li = addItem("note");
    li.append(el("div", "b", text, { role: "alert" }));
    scroll();
  }

  function addSys(text) {
    var li = addItem("sys");
    li.textContent = text;
    scroll();
  }

  function addBot(m, ts, extra, agent) {
    var li = addItem("bot" + (extra ? " " + extra : "") + (agent ? " agent" : ""));
    if (agent) li.appendChild(el("span", "by", agent));
    if (m.text) li.appendChild(el("div", "b", m.text));
    if (m.custom && m.custom.type === "order" && m.custom.order) li.appendChild(orderCard(m.custom.order));
    if (m.buttons && m.buttons.length) {
      var row = el("div", "btns", null, { role: "group", "aria-label": "Suggested replies" });
      m.buttons.forEach(function (b) {
        var btn = el("button", null, b.title || b.payload, { type: "button" });
        btn.addEventListener("click", function () {
          if (!extra) Array.prototype.forEach.call(row.children, function (c) { c.disabled = true; });
          send(String(b.title || b.payload), b.payload ? String(b.payload) : undefined);
        });
        row.appendChild(btn);
      });
      li.appendChild(row);
    }
    li.appendChild(clock(ts));
    scroll();
    return li;
  }

  function label(s) {
    s = String(s || "");
    return s.charAt(0).toUpperCase() + s.slice(1).replace(/_/g, " ");
  }

  function orderCard(o) {
    var card = el("div", "card", null, { role: "group", "aria-label": "Order " + (o.number || "") });
    var h = el("div", "h");
    h.append(el("span", null, "Order #" + String(o.number || "").replace(/^#/, "")),
      el("span", "badge s-" + String(o.status || "").replace(/[^a-z_]/g, ""), o.status_label || label(o.status)));
    card.appendChild(h);
    var items = Array.isArray(o.items) ? o.items : [];
    if (items.length) {
      var ul = el("ul", "items");
      items.slice(0, 20).forEach(function (i) {
        ul.appendChild(el("li", null, (i.quantity ? i.quantity + " \u00d7 " : "") + (i.name || "") + (i.variant ? " (" + i.variant + ")" : "")));
      });
      card.appendChild(ul);
    }
    (Array.isArray(o.shipments) ? o.shipments : []).forEach(function (s) {
      var row = el("div", "ship");
      row.appendChild(document.createTextNode((s.carrier || "Shipment") + (s.status ? " \u00b7 " + label(s.status) : "") + ": "));
      var url = safeUrl(s.tracking_url);
      var number = s.tracking_number || "Track parcel";
      row.appendChild(url ? link(url, number + " \u2197", "track") : el("span", null, number));
      card.appendChild(row);
    });
    var page = safeUrl(o.status_page_url);
    if (page) card.appendChild(link(page, "View order status \u2197", "status"));
    return card;
  }

  function banner(text, bad) {
    els.banner.textContent = text || "";
    els.banner.hidden = !text;
    els.banner.classList.toggle("bad", !!bad);
  }

  function typing(on, who) {
    clearTimeout(typingTimer);
    els.typing.lastChild.textContent = " " + (who ? who + " is typing" : "typing");
    els.typing.hidden = !on;
    if (on) typingTimer = setTimeout(function () { els.typing.hidden = true; }, 20000);
  }

  // ---- socket ----
  function connect() {
    if (fatal) return;
    clearTimeout(retryTimer);
    idle = false;
    if (ws && ws.readyState < 2) return;
    welcomed = false;
    var sock;
    try { sock = ws = new WebSocket(cfg.socket_url); } catch (e) { return retry(); }
    sock.onopen = function () { hello(); };
    sock.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (x) { return; }
      if (f && typeof f === "object") onFrame(f);
    };
    sock.onclose = function (e) {
      if (sock !== ws) return;
      welcomed = false;
      typing(false);
      for (var id in awaiting) awaiting[id].classList.add("wait");
      if (fatal) return;
      if (e.code === 4000) { idle = true; return; }
      retry();
    };
  }

  function hello() {
    var s = load();
    var lang = (document.documentElement.lang || navigator.language || cfg.locale || "en").slice(0, 10);
    ws.send(JSON.stringify({ type: "hello", widget_id: widgetId, session: s.session || null, locale: lang }));
  }

  function retry() {
    var delay = Math.min(15000, 500 * Math.pow(2, attempt++)) * (0.75 + Math.random() / 2);
    banner("Reconnecting\u2026");
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  function onFrame(f) {
    if (f.type === "welcome") {
      welcomed = true;
      attempt = 0;
      banner("");
      var s = load();
      var fresh = s.conversation !== f.conversation_id;
      save({ session: f.session, conversation: f.conversation_id });
      if (fresh && api.shown) { // another conversation than the one on screen
        els.log.textContent = "";
        greet();
      }
      if (!api.shown) {
        api.shown = true;
        (f.history || []).forEach(function (h) {
          if (h.role === "user") addUser(h.text, h.timestamp);
          else addBot(h, h.timestamp, null, h.role === "agent" ? (h.agent && h.agent.name) || "Team" : null);
        });
        if ((f.history || []).length) disableOld();
        if (f.resumed && f.history_complete === false) addNote("Earlier messages could not be loaded right now.");
      }
      handoff(f.handoff);
      flush();
    } else if (f.type === "typing") {
      typing(true);
    } else if (f.type === "agent_typing") {
      typing(true, f.agent && f.agent.name);
    } else if (f.type === "handoff") {
      handoff(f);
      if (f.text) addSys(f.text);
    } else if (f.type === "bot") {
      typing(false);
      settle(f.reply_to);
      disableOld();
      var by = f.from === "agent" ? (f.agent && f.agent.name) || "Team" : null;
      (f.messages || []).forEach(function (m) { addBot(m, null, null, by); });
    } else if (f.type === "error") {
      typing(false);
      settle(f.reply_to);
      if (f.code === "session_expired") {
        save({ session: null });
        ws.send(JSON.stringify({ type: "hello", widget_id: widgetId, session: null }));
      } else if (f.code === "unknown_widget" || f.code === "origin_not_allowed") {
        fatal = true;
        banner("Chat is not available on this site right now.", true);
      } else if (f.code !== "idle_timeout" && f.code !== "too_many_connections") {
        addNote(f.message || "Something went wrong.");
      }
    }
  }

  // A person has the conversation (state active), is awaited (waiting/ticket) or it is over.
  function handoff(h) {
    var st = h && h.state;
    els.who.textContent = st === "active" ? ((h.agent && h.agent.name) || "Team") + " from the team" :
      st === "waiting" ? "Waiting for the team\u2026" : "";
  }

  function settle(id) {
    if (id && awaiting[id]) {
      awaiting[id].classList.remove("wait");
      delete awaiting[id];
    }
  }

  function disableOld() {
    Array.prototype.forEach.call(els.log.querySelectorAll(".bot:not(.greet) .btns button"), function (b) { b.disabled = true; });
  }

  function send(text, payload) {
    text = text.slice(0, MAX_TEXT);
    var id = "m" + Date.now().toString(36) + (seq++).toString(36);
    var li = addUser(text);
    li.classList.add("wait");
    awaiting[id] = li;
    var frame = { type: "message", id: id, text: text };
    if (payload) frame.payload = payload;
    outbox.push(frame);
    flush();
    if (!welcomed) connect();
  }

  function flush() {
    // Typed-while-offline messages leave in order, exactly once: a frame is dropped from the
    // outbox only when handed to an open, welcomed socket.
    while (welcomed && ws && ws.readyState === 1 && outbox.length) {
      ws.send(JSON.stringify(outbox.shift()));
    }
  }

  // ---- start ----
  function start(tries) {
    fetch(base + "/api/widget/config/" + encodeURIComponent(widgetId), { credentials: "omit" })
      .then(function (r) {
        if (r.status === 404) throw (fatal = "gone");
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (c) {
        cfg = c;
        build();
        var s = load();
        if (s.open) toggle(true);
        else if (s.session) connect(); // resume quietly to receive history and pushed messages
      })
      .catch(function () {
        if (fatal !== "gone" && tries < 6) setTimeout(function () { start(tries + 1); }, 1000 * Math.pow(2, tries));
      });
  }

  window.addEventListener("online", function () { if (ws && ws.readyState > 1 && !fatal) { attempt = 0; connect(); } });
  api.open = function () { if (els.panel) toggle(true); };
  api.close = function () { if (els.panel) toggle(false); };
  api.frame = function (f) { onFrame(f); }; // lets tests and the page inject a frame
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { start(0); });
  else start(0);
})();
