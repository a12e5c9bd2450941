/* TrulyBot dashboard: small progressive enhancements (every page works without it). */
(function () {
  "use strict";
  // Forms marked data-once: disable submit buttons after the first submit (double clicks);
  // the server refuses a second submit of the same form anyway.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once")) return;
    if (form.getAttribute("data-sent")) { e.preventDefault(); return; }
    form.setAttribute("data-sent", "1");
    var submitter = e.submitter;
    if (submitter && submitter.name) { // keep the pressed button's value once it is disabled
      var keep = document.createElement("input");
      keep.type = "hidden"; keep.name = submitter.name; keep.value = submitter.value;
      form.appendChild(keep);
    }
    setTimeout(function () {
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit], button:not([type])"), function (b) { b.disabled = true; });
    }, 0);
  });

  // Copy buttons of the install snippets.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("button[data-copy]");
    if (!btn) return;
    var node = document.getElementById(btn.getAttribute("data-copy"));
    if (!node) return;
    var text = node.textContent;
    var done = function () { var t = btn.textContent; btn.textContent = "Copied"; setTimeout(function () { btn.textContent = t; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { select(node); });
    } else { select(node); try { document.execCommand("copy"); done(); } catch (err) { /* selected for manual copy */ } }
  });
  function select(node) { var r = document.createRange(); r.selectNodeContents(node); var s = getSelection(); s.removeAllRanges(); s.addRange(r); }

  // Widget editor: color pickers synced with the hex fields, and the live preview.
  var form = document.getElementById("widget-form");
  var frame = document.getElementById("preview");
  if (!form) return;
  var HEX = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;
  Array.prototype.forEach.call(form.querySelectorAll("input[data-sync]"), function (picker) {
    var text = document.getElementById(picker.getAttribute("data-sync"));
    picker.addEventListener("input", function () { text.value = picker.value; schedule(); });
    text.addEventListener("input", function () { if (/^#[0-9a-f]{6}$/i.test(text.value.trim())) picker.value = text.value.trim(); });
  });
  var timer = null;
  function schedule() { clearTimeout(timer); timer = setTimeout(refresh, 350); }
  function val(name) { var el = form.elements[name]; return el ? (el.value || "").trim() : ""; }
  function refresh() {
    if (!frame) return;
    var draft = {};
    if (val("title")) draft.title = val("title").slice(0, 80);
    if (val("greeting")) draft.greeting = val("greeting").slice(0, 500);
    if (HEX.test(val("primary_color"))) draft.primary_color = val("primary_color");
    if (HEX.test(val("text_color"))) draft.text_color = val("text_color");
    var pos = form.querySelector("input[name=position]:checked");
    if (pos) draft.position = pos.value;
    var lines = val("quick_replies").split("\n").map(function (l) { return l.trim(); }).filter(Boolean).slice(0, 6);
    if (lines.length) draft.quick_replies = lines.map(function (l) { var p = l.split("|"); return { title: p[0].trim(), payload: (p[1] || p[0]).trim() }; });
    var src = frame.getAttribute("data-base") + "#draft=" + encodeURIComponent(JSON.stringify(draft));
    // A new document each time: the widget reads its config once, at start.
    frame.src = "about:blank";
    setTimeout(function () { frame.src = src; }, 30);
  }
  form.addEventListener("input", function (e) { if (e.target.name && e.target.name.indexOf("policy_") !== 0 && e.target.name !== "allowed_origins") schedule(); });
  form.addEventListener("change", function (e) { if (e.target.name === "position") schedule(); });
})();
