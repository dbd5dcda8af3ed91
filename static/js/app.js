// s2viz page behaviours: the step player, keyboard, IPA hint, memslot map. No inline scripts.
//
// Stepping is htmx's own request: the step links of #stage (its player and its step list) are
// plain links that htmx boosts, and #stage passes on hx-target #stage, hx-swap outerHTML and
// hx-replace-url to them (hx-sync replaces a step still on its way). Keys, the scrubber and play
// ask htmx for a step through the small API below,
// window.s2viz, which presenter mode uses too. The server decides fragment or page
// (app/web/serving/htmx.py); the neighbouring steps are fetched ahead with htmx's own headers, and
// htmx uses them when they are asked for. Without JavaScript every step is a plain link.
(function () {
  "use strict";

  let timer = null;
  let pace = 1100;                  // ms between steps while playing
  let want = null;                  // the step asked for and not drawn yet: keys step on from it
  let latest = null;                // the address of the newest step asked for: only it is drawn

  function stage() { return document.getElementById("stage"); }
  function current() { const s = stage(); return s ? Number(s.dataset.current) : 0; }
  function total() { const s = stage(); return s ? Number(s.dataset.total) : 0; }
  function base() { return want !== null ? want : current(); }

  // The next or previous step: from key step to key step in presenter mode, else one by one.
  function neighbour(which) {
    const s = stage();
    if (!s) return 0;
    const from = base();
    if (s.dataset.keys) {
      const keys = s.dataset.keys.split(",").map(Number);
      const later = keys.filter((k) => k > from), earlier = keys.filter((k) => k < from);
      return which === "next" ? (later.length ? later[0] : total()) : (earlier.length ? earlier[earlier.length - 1] : 1);
    }
    return which === "next" ? Math.min(total(), from + 1) : Math.max(1, from - 1);
  }

  // The server writes each step's address: the last one, and a pattern for the others.
  function stepUrl(n) {
    const s = stage();
    return n >= total() ? s.dataset.lastUrl : s.dataset.stepUrl.replace("{n}", String(n));
  }

  function step(n) {
    const s = stage();
    if (!s || !window.htmx) return;
    n = Math.max(1, Math.min(total(), n));
    if (n === base()) return;
    want = n;
    latest = stepUrl(n);
    window.htmx.ajax("GET", stepUrl(n), { source: s, target: s, swap: "outerHTML", replace: "true" });
  }

  // ---- fetching the neighbouring steps ahead -------------------------------------------------
  const ahead = new Map();          // step URL -> Promise of its response, for the few around
  const AHEAD_MAX = 8;
  let internal = null;

  function fetchAhead() {
    const s = stage();
    if (!s || !internal) return;
    s.querySelectorAll('.player a[data-step="prev"], .player a[data-step="next"]').forEach((link) => {
      const url = link.getAttribute("href");
      if (!url || ahead.has(url) || url === stepUrl(current())) return;
      const ctx = internal.createRequestContext(link, {});     // htmx's own request and headers
      ctx.request.headers["HX-Request-Type"] = "partial";
      const got = fetch(url, ctx.request).then((r) => (r.ok ? r : Promise.reject(new Error(String(r.status)))));
      got.catch(() => ahead.delete(url));
      ahead.set(url, got);
      if (ahead.size > AHEAD_MAX) ahead.delete(ahead.keys().next().value);
    });
  }

  // A response fetched ahead, as htmx's own fetch would give it: a copy, and refused once htmx
  // drops the request (hx-sync replaced it with a newer step).
  function answered(got, signal) {
    return new Promise((resolve, reject) => {
      const drop = () => reject(new DOMException("The step was replaced by a newer one", "AbortError"));
      if (signal && signal.aborted) { drop(); return; }
      if (signal) signal.addEventListener("abort", drop, { once: true });
      got.then((r) => resolve(r.clone()), reject);
    });
  }

  if (window.htmx) {
    window.htmx.registerExtension("s2viz-steps", {
      init: (api) => { internal = api; },
      htmx_before_request: (elt, detail) => {
        const ctx = detail.ctx;
        const got = ctx.request.method === "GET" && ctx.target && ctx.target.id === "stage" && ahead.get(ctx.request.action);
        if (got) ctx.fetch = (url, init) => answered(got, init && init.signal);
      },
    });
  }

  // ---- after a step is drawn ---------------------------------------------------------------
  function announce() {
    const say = document.getElementById("step-announce");
    const s = stage();
    if (!say || !s) return;
    const now = s.querySelector(".step-now");
    const head = s.querySelector(".verdict-box .headline");
    say.textContent = "Step " + current() + " of " + total() + ": " +
      (now ? now.querySelector(".func").textContent + " " + now.querySelector(".text").textContent : "") +
      (head ? " " + head.textContent.trim() : "");
  }

  function setPlayLabel() {
    const b = document.querySelector("#stage .play");
    if (!b) return;
    b.textContent = timer ? "Pause" : "Play";
    b.setAttribute("aria-label", timer ? "Pause" : "Play");
  }

  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    setPlayLabel();
  }

  function tick() {
    if (base() >= total()) { stop(); return; }
    if (want === null) step(neighbour("next"));
  }

  function play() {
    if (timer) { stop(); return; }
    if (current() >= total()) step(1);
    timer = setInterval(tick, pace);
    setPlayLabel();
  }

  function setPace(ms) {
    pace = Math.max(200, Number(ms) || pace);
    if (timer) { clearInterval(timer); timer = setInterval(tick, pace); }
  }

  function help(open) {
    const h = document.getElementById("help");
    if (!h) return;
    h.hidden = !open;
    if (open) { const b = h.querySelector("button"); if (b) b.focus(); }
    else { const q = document.querySelector("#stage .help"); if (q) q.focus(); }
  }

  function copyForMail(btn) {
    fetch(btn.dataset.src).then((r) => r.text()).then((text) => {
      if (!navigator.clipboard) { location.href = btn.dataset.src; return; }
      return navigator.clipboard.writeText(text).then(() => { btn.textContent = "Copied"; });
    }).catch(() => { location.href = btn.dataset.src; });
  }

  // A "copy" button beside a text: the text from data-copy, or from the field data-copy-from names.
  function copyText(btn) {
    const from = btn.dataset.copyFrom && document.getElementById(btn.dataset.copyFrom);
    const text = from ? from.value : btn.dataset.copy;
    if (!navigator.clipboard || !text) { if (from) from.select(); return; }
    navigator.clipboard.writeText(text).then(() => { btn.textContent = "Copied"; }, () => { if (from) from.select(); });
  }

  function onClick(ev) {
    const copy = ev.target.closest(".copy-mail");
    if (copy) { copyForMail(copy); return; }
    const text = ev.target.closest(".copy-text");
    if (text) { copyText(text); return; }
    const el = ev.target.closest("#stage [data-step], #help [data-step]");
    if (!el || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    const what = el.dataset.step;
    if (el.tagName === "A") { stop(); return; }            // a step link: htmx asks for it
    ev.preventDefault();
    if (what === "play") play();
    else if (what === "help") help(true);
    else if (what === "help-close") help(false);
  }

  function onKey(ev) {
    if (!stage() || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const h = document.getElementById("help");
    if (h && !h.hidden) {
      if (ev.key === "Escape" || ev.key === "?") { help(false); ev.preventDefault(); }
      return;
    }
    const t = ev.target;
    // Keys that a focused field uses itself (typing, a select, a radio group, the scrubber) are not
    // stepping; on a checkbox, a button or a link they are.
    if (t && (t.isContentEditable || /^(SELECT|TEXTAREA)$/.test(t.tagName) ||
              (t.tagName === "INPUT" && !/^(checkbox|button|submit)$/.test(t.type)))) return;
    const keys = { ArrowLeft: "prev", ArrowRight: "next", PageUp: "prev", PageDown: "next" };
    if (ev.key in keys) { stop(); step(neighbour(keys[ev.key])); }
    else if (ev.key === "Home") { stop(); step(1); }
    else if (ev.key === "End") { stop(); step(total()); }
    else if (ev.key === " ") {
      if (t && (t.tagName === "BUTTON" || t.type === "checkbox")) return;   // their own click runs
      play();
    }
    else if (ev.key === "v") {
      const j = stage().querySelector(".jump");
      if (j) { stop(); step(Number(j.dataset.step)); }
    }
    else if (ev.key === "?") help(true);
    else return;
    ev.preventDefault();
  }

  function ipaHint(input) {
    const hint = document.getElementById("ipa-hint");
    if (!hint) return;
    let v;
    try { v = BigInt("0x" + input.value.trim().replace(/^0x/i, "").replace(/_/g, "")); }
    catch (e) { hint.textContent = "Not a hex IPA."; return; }
    const lo = BigInt(input.dataset.slotLo), hi = BigInt(input.dataset.slotHi);
    const limit = BigInt(input.dataset.ipaLimit);
    const slots = (input.dataset.slots || "").split(";").filter(Boolean).map((x) => x.split(","));
    const hit = slots.find(([a, b]) => v >= BigInt(a) && v < BigInt(b));
    if (v >= limit) hint.textContent = "Beyond the VM's IPA space: KVM injects an abort.";
    else if (hit) hint.textContent = "Inside memslot " + hit[2] + ".";
    else if (!slots.length && v >= lo && v < hi) hint.textContent = "Inside the memslot: backed by the configured VMA.";
    else hint.textContent = "No memslot here: MMIO (or an injected abort for instruction fetches).";
  }

  let plotlyLoading = null;
  function loadPlotly(src) {
    if (window.Plotly) return Promise.resolve();
    if (!plotlyLoading) {
      plotlyLoading = new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = src;
        s.onload = resolve; s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    return plotlyLoading;
  }

  function drawMap(d) {
    const box = d.querySelector(".plot");
    if (!box || box.dataset.drawn) return;
    box.dataset.drawn = "1";
    Promise.all([fetch(box.dataset.figureSrc).then((r) => r.json()), loadPlotly(box.dataset.plotlySrc)]).then(([fig]) => {
      window.Plotly.newPlot(box, fig.data, fig.layout, { displaylogo: false, responsive: true, displayModeBar: false });
    }).catch(() => { box.textContent = "The map could not be drawn; the table below has the same data."; });
  }

  function onToggle(ev) {
    const d = ev.target;
    if (d instanceof HTMLDetailsElement && d.open && d.id === "memslot-map") drawMap(d);
  }

  function init() {
    document.querySelectorAll(".copy-text").forEach((btn) => { btn.hidden = false; });
    const s = stage();
    if (!s) return;
    s.querySelectorAll(".play, .scrubber, .help").forEach((el) => { el.hidden = false; });
    setPlayLabel();
    const ipa = document.getElementById("fire-ipa");
    if (ipa) ipaHint(ipa);
    document.querySelectorAll(".copy-mail").forEach((btn) => { btn.hidden = false; });
    const map = s.querySelector("#memslot-map[open]");
    if (map) drawMap(map);
    const cur = s.querySelector("li.step.current");
    const list = cur && cur.closest(".steps-nav");
    if (cur && list && list.scrollHeight > list.clientHeight) {
      list.scrollTop = Math.max(0, cur.offsetTop - list.offsetTop - list.clientHeight / 3);
    }
  }

  let scrubTimer = null;
  document.addEventListener("click", onClick);
  document.addEventListener("keydown", onKey);
  document.addEventListener("toggle", onToggle, true);
  document.addEventListener("input", (ev) => {
    if (ev.target.classList && ev.target.classList.contains("scrubber")) {
      stop();
      clearTimeout(scrubTimer);
      const n = Number(ev.target.value);
      scrubTimer = setTimeout(() => step(n), 60);
    }
    if (ev.target.id === "fire-ipa") ipaHint(ev.target);
  });

  // Around every swap: the control that was used keeps the focus (by id, name or data-step), and
  // a step's swap keeps the memslot map open and says the new step aloud.
  function describe(el) {
    if (!el || el === document.body) return null;
    if (el.id) return "#" + CSS.escape(el.id);
    if (el.name && (el.type === "checkbox" || el.type === "radio")) {
      return 'input[name="' + CSS.escape(el.name) + '"][value="' + CSS.escape(el.value) + '"]';
    }
    if (el.name) return '[name="' + CSS.escape(el.name) + '"]';
    return el.dataset && el.dataset.step ? '[data-step="' + el.dataset.step + '"]' : null;
  }
  function isStep(ctx) { return !!(ctx && ctx.target && ctx.target.id === "stage"); }
  function stepOf(url) {
    const q = new URL(url, location.href).searchParams;
    if (q.has("story")) return null;          // the key step: the server says which
    return q.has("step") ? Number(q.get("step")) : total();
  }

  // Only the newest step request is on its way (hx-sync replaces the one before) and only the
  // newest is drawn; if a step was drawn meanwhile, it lands in the stage that is there now.
  document.addEventListener("htmx:before:request", (ev) => {
    const ctx = ev.detail.ctx;
    if (!isStep(ctx)) return;
    latest = ctx.request.action;
    want = stepOf(latest);
  });
  document.addEventListener("htmx:after:request", (ev) => {
    const ctx = ev.detail.ctx;
    if (isStep(ctx) && !ctx.target.isConnected && stage()) ctx.target = stage();
  });

  let kept = null;
  document.addEventListener("htmx:before:swap", (ev) => {
    const ctx = ev.detail.ctx;
    if (isStep(ctx) && ctx.request.action !== latest) { ev.preventDefault(); return; }   // an older step
    if (isStep(ctx) && ctx.response && ctx.response.status >= 400) {
      ev.preventDefault();                    // a step that cannot be drawn here: load it as a page
      want = null;
      location.href = ctx.request.action;
      return;
    }
    kept = { focus: describe(document.activeElement), map: !!document.querySelector("#memslot-map[open]"),
             step: isStep(ctx) };
  });
  document.addEventListener("htmx:after:swap", (ev) => {
    const was = kept || {};
    kept = null;
    if (!was.step) { stop(); ahead.clear(); }
    if (!was.step || ev.detail.ctx.request.action === latest) want = null;
    const s = stage();
    if (was.step && s) {
      const link = document.getElementById("permalink");
      const here = location.pathname + location.search;
      if (link && !here.startsWith("/embed/") && !here.startsWith("/present/")) { link.href = here; link.textContent = here; }
      const code = document.getElementById("iframe-code");        // the iframe code opens on the step shown
      if (code) code.value = code.value.replace(/src="([^"]*?)\/embed\/[^"]*"/, (m, origin) => 'src="' + origin + "/embed" + here.replace(/&/g, "&amp;") + '"');
      if (was.map) { const d = s.querySelector("#memslot-map"); if (d) d.open = true; }
    }
    init();
    if (was.focus) {
      let el = document.querySelector(was.focus);
      if (!el && was.step && s && was.focus.startsWith("[data-step")) {
        el = s.querySelector('[data-step="' + (/next|last/.test(was.focus) ? "next" : "prev") + '"]');
      }
      if (el && document.activeElement !== el) el.focus({ preventScroll: true });
    }
    if (was.step) announce();
    fetchAhead();
  });
  document.addEventListener("htmx:error", (ev) => {
    const ctx = ev.detail.ctx;
    // A step request a newer one replaced (hx-sync aborts it) is no error of the page: the newer
    // step is on its way, and loading the older one as a page would undo the keys pressed since.
    if (isStep(ctx) && ctx.request.action !== latest) return;
    want = null;
    if (isStep(ctx)) location.href = ctx.request.action;      // the plain link still works
  });

  // The player's API, for presenter mode and anything else that steers the player.
  window.s2viz = {
    step,
    next: () => step(neighbour("next")),
    prev: () => step(neighbour("prev")),
    play,
    stop,
    pace: setPace,
    current,
    total,
  };

  function start() { init(); fetchAhead(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
