/* TrulyBot inbox: live list and conversation over server-sent events. Every text a shopper or
 * agent wrote is inserted with textContent (never innerHTML). The page works without it too. */
(function () {
  "use strict";
  var root = document.querySelector(".inbox");
  if (!root) return;
  var selected = root.getAttribute("data-selected");
  var csrf = root.getAttribute("data-csrf");
  var list = document.getElementById("conversations");
  var transcript = document.getElementById("transcript");
  var status = document.getElementById("live-status");

  function el(tag, cls, text, attrs) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = String(text);
    for (var a in attrs || {}) n.setAttribute(a, attrs[a]);
    return n;
  }

  function waited(iso) {
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return "waiting " + s + " s";
    if (s < 3600) return "waiting " + Math.floor(s / 60) + " min";
    return "waiting " + Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }

  function tick() {
    Array.prototype.forEach.call(document.querySelectorAll(".conv-wait[data-since]"), function (n) {
      n.textContent = waited(n.getAttribute("data-since"));
    });
  }

  function renderList(items) {
    list.textContent = "";
    if (!items.length) { list.appendChild(el("li", "empty", "Nobody is waiting.")); return; }
    items.forEach(function (h) {
      var li = el("li", "conv state-" + h.state + (String(h.id) === selected ? " current" : ""));
      var a = el("a", null, null, { href: "/dashboard/inbox/" + h.id });
      if (String(h.id) === selected) a.setAttribute("aria-current", "page");
      a.append(el("span", "conv-store", (h.store && h.store.name) || "Store"), el("span", "badge state", h.state),
        el("span", "conv-wait", "", { "data-since": h.requested_at }));
      if (h.agent) a.appendChild(el("span", "conv-agent", h.agent.name));
      li.appendChild(a);
      list.appendChild(li);
    });
    tick();
  }

  function message(m) {
    var li = el("li", "msg role-" + m.role);
    var who = m.role === "user" ? "Shopper" : m.role === "agent" ? ((m.agent && m.agent.name) || "Team") : "Assistant";
    li.appendChild(el("span", "who-said", who));
    if (m.text) li.appendChild(el("p", "text", m.text));
    var o = m.custom && m.custom.type === "order" && m.custom.order;
    if (o) {
      var card = el("div", "order-card", null, { role: "group", "aria-label": "Order " + (o.number || "") });
      var head = el("p", "order-head");
      head.append(el("strong", null, "Order #" + String(o.number || "").replace(/^#/, "")), document.createTextNode(" "),
        el("span", "badge", o.status_label || o.status || ""));
      card.appendChild(head);
      if (Array.isArray(o.items) && o.items.length) {
        var ul = el("ul");
        o.items.slice(0, 20).forEach(function (i) { ul.appendChild(el("li", null, (i.quantity ? i.quantity + " \u00d7 " : "") + (i.name || ""))); });
        card.appendChild(ul);
      }
      (o.shipments || []).forEach(function (s) {
        card.appendChild(el("p", "ship", (s.carrier || "Shipment") + (s.tracking_number ? ": " + s.tracking_number : "")));
      });
      li.appendChild(card);
    }
    return li;
  }

  function renderConversation(data) {
    if (!transcript) return;
    transcript.textContent = "";
    (data.transcript || []).forEach(function (m) { transcript.appendChild(message(m)); });
    transcript.scrollTop = transcript.scrollHeight;
    var state = document.getElementById("conv-state");
    if (state) state.textContent = data.handoff.state;
  }

  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    });
  }

  function refreshList() { return get("/dashboard/inbox/list").then(function (d) { renderList(d.items || []); }); }
  function refreshConversation() {
    if (!selected) return Promise.resolve();
    return get("/dashboard/inbox/" + selected + "/data").then(renderConversation);
  }

  function post(url, body) {
    body.append("csrf", csrf);
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return { message: "The server answered " + r.status + "." }; })
          .then(function (d) { if (!r.ok) throw new Error(d.message || String(r.status)); return d; });
      });
  }

  var error = document.getElementById("reply-error");
  function showError(text) {
    if (!error) return;
    error.textContent = text || "";
    error.hidden = !text;
  }

  var form = document.getElementById("reply-form");
  if (form) {
    var box = document.getElementById("reply-text");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = box.value.trim();
      if (!text) return;
      var body = new FormData();
      body.append("text", text);
      post(form.getAttribute("action"), body).then(function () {
        box.value = "";
        showError("");
        return refreshConversation();
      }).catch(function (x) { showError(x.message); });
    });
    var lastTyping = 0;
    box.addEventListener("input", function () {
      if (Date.now() - lastTyping < 3000) return;
      lastTyping = Date.now();
      post("/dashboard/inbox/" + selected + "/typing", new FormData()).catch(function () {});
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.act"), function (f) {
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      post(f.getAttribute("action"), new FormData()).then(function () {
        showError("");
        return Promise.all([refreshList(), refreshConversation()]);
      }).catch(function (x) { showError(x.message); });
    });
  });

  function onEvent(e) {
    var data = {};
    try { data = JSON.parse(e.data); } catch (x) { return; }
    refreshList().catch(function () {});
    if (selected && String(data.handoff_id || (data.handoff && data.handoff.id)) === selected) refreshConversation().catch(function () {});
  }

  if (window.EventSource) {
    var source = new EventSource("/dashboard/inbox/events");
    ["requested", "changed", "message", "resync"].forEach(function (k) { source.addEventListener(k, onEvent); });
    source.addEventListener("ready", function () { status.textContent = "Updates live."; refreshList().catch(function () {}); });
    source.onerror = function () { status.textContent = "Reconnecting\u2026"; };
  }
  tick();
  setInterval(tick, 10000);
})();
