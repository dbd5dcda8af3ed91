// s2viz page behaviours: step player, keyboard, IPA hint, memslot map. No inline scripts: this file
// runs on load and after every htmx swap.
(function () {
  "use strict";

  let timer = null;

  function trace() { return document.querySelector(".trace"); }

  function stepUrl(n, total) {
    const url = new URL(location.href);
    if (n >= total) url.searchParams.delete("step"); else url.searchParams.set("step", String(n));
    // Keep the canonical form: URLSearchParams would escape commas.
    return url.pathname + (url.search ? url.search.replace(/%2C/gi, ",") : "");
  }

  function show(n) {
    const tr = trace();
    if (!tr) return;
    const total = Number(tr.dataset.total);
    n = Math.max(1, Math.min(total, n));
    tr.dataset.current = String(n);
    let fault = "";
    tr.querySelectorAll("li.step").forEach((li) => {
      const k = Number(li.dataset.n);
      li.classList.toggle("current", k === n);
      li.classList.toggle("done", k < n);
      li.classList.toggle("todo", k > n);
      if (k === n) fault = li.dataset.fault;
    });
    const panels = document.querySelectorAll(".fault-panels");
    panels.forEach((p, i) => {
      p.hidden = fault === "" ? i !== panels.length - 1 : p.dataset.fault !== fault;
    });
    const cur = tr.querySelector("li.step.current");
    tr.querySelector(".counter .now").textContent = String(n);
    const scrub = tr.querySelector(".scrubber");
    if (scrub) scrub.value = String(n);
    const say = document.getElementById("step-announce");
    if (say && cur) {
      say.textContent = "Step " + n + " of " + total + ": " + cur.querySelector(".func").textContent + " " +
        cur.querySelector(".text").textContent;
    }
    if (cur) scrollList(cur);
    const url = stepUrl(n, total);
    history.replaceState({ htmx: true }, "", url);
    const link = document.getElementById("permalink");
    if (link) { link.href = url; link.textContent = url; }
  }

  function scrollList(li) {
    // Scroll only the step list, never the page.
    const list = li.closest(".steps");
    const top = li.offsetTop;   // .steps is position: relative
    if (top < list.scrollTop || top + li.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = Math.max(0, top - list.clientHeight / 3);
    }
  }

  function current() { const tr = trace(); return tr ? Number(tr.dataset.current) : 0; }
  function total() { const tr = trace(); return tr ? Number(tr.dataset.total) : 0; }

  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    const b = document.querySelector(".player .play");
    if (b) { b.textContent = "Play"; b.setAttribute("aria-label", "Play"); }
  }

  function play() {
    if (timer) { stop(); return; }
    if (current() >= total()) show(1);
    const b = document.querySelector(".player .play");
    if (b) { b.textContent = "Pause"; b.setAttribute("aria-label", "Pause"); }
    timer = setInterval(() => {
      if (current() >= total()) { stop(); return; }
      show(current() + 1);
    }, 900);
  }

  function copyForMail(btn) {
    fetch(btn.dataset.src).then((r) => r.text()).then((text) => {
      if (!navigator.clipboard) { location.href = btn.dataset.src; return; }
      return navigator.clipboard.writeText(text).then(() => { btn.textContent = "Copied"; });
    }).catch(() => { location.href = btn.dataset.src; });
  }

  function onPlayerClick(ev) {
    const copy = ev.target.closest(".copy-mail");
    if (copy) { copyForMail(copy); return; }
    const a = ev.target.closest("[data-step], a.step-head");
    if (!a || !trace()) return;
    ev.preventDefault();
    const what = a.dataset.step;
    if (what === "play") { play(); return; }
    stop();
    if (what === "first") show(1);
    else if (what === "last") show(total());
    else if (what === "prev") show(current() - 1);
    else if (what === "next") show(current() + 1);
    else show(Number(a.closest("li.step").dataset.n));
  }

  function onKey(ev) {
    if (!trace() || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(t.tagName))) return;
    const keys = { ArrowLeft: -1, ArrowRight: 1, PageUp: -1, PageDown: 1 };
    if (ev.key in keys) { stop(); show(current() + keys[ev.key]); }
    else if (ev.key === "Home") { stop(); show(1); }
    else if (ev.key === "End") { stop(); show(total()); }
    else if (ev.key === " ") play();
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

  function onToggle(ev) {
    const d = ev.target;
    if (!(d instanceof HTMLDetailsElement) || !d.open || d.id !== "memslot-map") return;
    const box = d.querySelector(".plot");
    if (!box || box.dataset.drawn) return;
    box.dataset.drawn = "1";
    Promise.all([fetch(box.dataset.figureSrc).then((r) => r.json()), loadPlotly(box.dataset.plotlySrc)]).then(([fig]) => {
      window.Plotly.newPlot(box, fig.data, fig.layout, { displaylogo: false, responsive: true });
    }).catch(() => { box.textContent = "The map could not be drawn; the table below has the same data."; });
  }

  function init() {
    const tr = trace();
    if (!tr) return;
    const b = tr.querySelector(".player .play");
    if (b) b.hidden = false;
    const s = tr.querySelector(".scrubber");
    if (s) s.hidden = false;
    const ipa = document.getElementById("fire-ipa");
    if (ipa) ipaHint(ipa);
    document.querySelectorAll(".copy-mail").forEach((btn) => { btn.hidden = false; });
    const cur = tr.querySelector("li.step.current");
    if (cur) scrollList(cur);
  }

  document.addEventListener("click", onPlayerClick);
  document.addEventListener("keydown", onKey);
  document.addEventListener("toggle", onToggle, true);
  document.addEventListener("input", (ev) => {
    if (ev.target.classList && ev.target.classList.contains("scrubber")) { stop(); show(Number(ev.target.value)); }
    if (ev.target.id === "fire-ipa") ipaHint(ev.target);
  });
  document.addEventListener("htmx:after:swap", () => { stop(); init(); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
