// s2viz page behaviours: the step player (each step's picture is a fragment of the server's own
// page for that step's URL, swapped in place), keyboard, IPA hint, memslot map. No inline scripts:
// this file runs on load and after every htmx swap. Without it, every step is a plain link.
(function () {
  "use strict";

  let timer = null;
  let pending = null;
  const cache = new Map();           // step URL -> stage HTML, a few around the current step
  const CACHE_MAX = 24;

  function stage() { return document.getElementById("stage"); }
  function current() { const s = stage(); return s ? Number(s.dataset.current) : 0; }
  function total() { const s = stage(); return s ? Number(s.dataset.total) : 0; }

  let want = null;                  // the step asked for and not yet drawn: keys step on from it

  function base() { return want !== null ? want : current(); }

  function nav(which) {
    const s = stage();
    if (!s) return 0;
    const from = base();
    if (s.dataset.keys) {             // presenter mode: from key step to key step
      const keys = s.dataset.keys.split(",").map(Number);
      const later = keys.filter((k) => k > from), earlier = keys.filter((k) => k < from);
      return which === "next" ? (later.length ? later[0] : total()) : (earlier.length ? earlier[earlier.length - 1] : 1);
    }
    return which === "next" ? Math.min(total(), from + 1) : Math.max(1, from - 1);
  }

  function stepUrl(n) {
    const url = new URL(location.href);
    if (n >= total() && !stage().dataset.alwaysStep) url.searchParams.delete("step");
    else url.searchParams.set("step", String(n));
    // mode stays last, after the permalink's own keys (presenter mode's canonical order).
    const mode = url.searchParams.get("mode");
    if (mode) { url.searchParams.delete("mode"); url.searchParams.set("mode", mode); }
    // Keep the canonical form: URLSearchParams would escape commas.
    return url.pathname + (url.search ? url.search.replace(/%2C/gi, ",") : "");
  }

  function fetchStage(url) {
    if (cache.has(url)) return Promise.resolve(cache.get(url));
    return fetch(url, { headers: { "HX-Request": "true", "HX-Request-Type": "partial", "HX-Target": "stage" } })
      .then((r) => { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then((html) => {
        cache.set(url, html);
        if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value);
        return html;
      });
  }

  // Which control had the focus, so that the same control has it after the swap.
  function focusKey() {
    const a = document.activeElement;
    if (!a || !stage() || !stage().contains(a)) return null;
    return a.dataset.step ? '[data-step="' + a.dataset.step + '"]' : (a.id ? "#" + a.id : null);
  }

  function go(n) {
    const s = stage();
    if (!s) return Promise.resolve();
    n = Math.max(1, Math.min(total(), n));
    const url = stepUrl(n);
    const key = focusKey();
    const mapOpen = !!document.querySelector("#memslot-map[open]");
    const ticket = {};
    pending = ticket;
    want = n;
    return fetchStage(url).then((html) => {
      if (pending !== ticket) return;           // a later step was asked for meanwhile
      want = null;
      const holder = document.createElement("div");
      holder.innerHTML = html;
      const fresh = holder.firstElementChild;
      stage().replaceWith(fresh);
      history.replaceState({ htmx: true }, "", url);
      const link = document.getElementById("permalink");
      if (link) { link.href = url; link.textContent = url; }
      if (key) {
        const again = fresh.querySelector(key) ||
          fresh.querySelector('[data-step="' + (key.includes("next") || key.includes("last") ? "next" : "prev") + '"]');
        if (again) again.focus({ preventScroll: true });
      }
      if (mapOpen) { const d = fresh.querySelector("#memslot-map"); if (d) d.open = true; }
      init();
      announce();
      prefetch(n);
    }).catch(() => { want = null; location.href = url; });   // the plain link still works
  }

  function prefetch(n) {
    [n + 1, n - 1].forEach((k) => {
      if (k >= 1 && k <= total()) fetchStage(stepUrl(k)).catch(() => {});
    });
  }

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

  function pace() { const s = stage(); return s && s.dataset.pace ? Number(s.dataset.pace) : 1100; }

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

  function play() {
    if (timer) { stop(); return; }
    if (current() >= total()) go(1);
    timer = setInterval(() => {
      if (base() >= total()) { stop(); return; }
      if (want === null) go(nav("next"));
    }, pace());
    setPlayLabel();
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

  function onClick(ev) {
    const copy = ev.target.closest(".copy-mail");
    if (copy) { copyForMail(copy); return; }
    const a = ev.target.closest("#stage [data-step], #help [data-step]");
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    const what = a.dataset.step;
    if (what === "play") { play(); return; }
    if (what === "help") { help(true); return; }
    if (what === "help-close") { help(false); return; }
    stop();
    if (what === "first") go(1);
    else if (what === "last") go(total());
    else if (what === "prev") go(nav("prev"));
    else if (what === "next") go(nav("next"));
    else go(Number(what));
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
    if (ev.key in keys) { stop(); go(nav(keys[ev.key])); }
    else if (ev.key === "Home") { stop(); go(1); }
    else if (ev.key === "End") { stop(); go(total()); }
    else if (ev.key === " ") {
      if (t && (t.tagName === "BUTTON" || t.type === "checkbox")) return;   // their own click runs
      play();
    }
    else if (ev.key === "v") {
      const j = stage().querySelector(".jump");
      if (j) { stop(); go(Number(j.dataset.step)); }
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
    if (v >= limit) hint.textContent = "Beyond the VM's IPA space: KVM injects an abort.";
    else if (v >= lo && v < hi) hint.textContent = "Inside the memslot: backed by the configured VMA.";
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
      scrubTimer = setTimeout(() => go(n), 60);
    }
    if (ev.target.id === "fire-ipa") ipaHint(ev.target);
  });
  // A change of scenario swaps the whole page body: the control that was used keeps the focus.
  let swapFocus = null;
  function describe(el) {
    if (!el || el === document.body) return null;
    if (el.id) return "#" + CSS.escape(el.id);
    if (el.name && (el.type === "checkbox" || el.type === "radio")) {
      return 'input[name="' + CSS.escape(el.name) + '"][value="' + CSS.escape(el.value) + '"]';
    }
    if (el.name) return '[name="' + CSS.escape(el.name) + '"]';
    return el.dataset && el.dataset.step ? '[data-step="' + el.dataset.step + '"]' : null;
  }
  document.addEventListener("htmx:before:swap", () => { swapFocus = describe(document.activeElement); });
  document.addEventListener("htmx:after:swap", () => {
    stop(); cache.clear(); init();
    const el = swapFocus && document.querySelector(swapFocus);
    if (el && document.activeElement !== el) el.focus({ preventScroll: true });
    swapFocus = null;
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => { init(); prefetch(current()); });
  else { init(); prefetch(current()); }
})();
