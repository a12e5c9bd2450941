/* Dashboard preview: apply the editor's unsaved look (from #draft=...) to the real widget's config.
   Loaded before widget.js; only the widget's config request is touched; chatting is real. */
(function () {
  "use strict";
  var draft = {};
  try {
    var m = /#draft=(.*)$/.exec(location.hash);
    if (m) draft = JSON.parse(decodeURIComponent(m[1])) || {};
  } catch (e) { draft = {}; }
  var HEX = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;
  var clean = {};
  if (typeof draft.title === "string") clean.title = draft.title.slice(0, 80);
  if (typeof draft.greeting === "string") clean.greeting = draft.greeting.slice(0, 500);
  if (HEX.test(draft.primary_color || "")) clean.primary_color = draft.primary_color;
  if (HEX.test(draft.text_color || "")) clean.text_color = draft.text_color;
  if (draft.position === "left" || draft.position === "right") clean.position = draft.position;
  if (Array.isArray(draft.quick_replies)) clean.quick_replies = draft.quick_replies.filter(function (q) {
    return q && typeof q.title === "string" && typeof q.payload === "string";
  }).slice(0, 6);
  var original = window.fetch;
  if (!original) return;
  // Always the current saved settings (the public config is HTTP-cached for a minute), plus the draft.
  window.fetch = function (url, opts) {
    if (String(url).indexOf("/api/widget/config/") < 0) return original.apply(this, arguments);
    var options = {};
    for (var o in opts || {}) options[o] = opts[o];
    options.cache = "no-store";
    return original.call(window, url, options).then(function (r) {
      if (!r.ok || !Object.keys(clean).length) return r;
      return r.json().then(function (cfg) {
        for (var k in clean) cfg[k] = clean[k];
        return new Response(JSON.stringify(cfg), { status: 200, headers: { "Content-Type": "application/json" } });
      });
    });
  };
})();
