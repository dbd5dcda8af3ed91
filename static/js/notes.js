// Speaker notes: a second window that follows presenter mode's deck over a BroadcastChannel (the
// deck says which step it shows; the notes load that step's notes) and steers it (arrows,
// PageUp/PageDown, Home/End here step the deck). Without the deck, or without JavaScript, the
// notes' own links step the notes alone.
(function () {
  "use strict";
  const root = document.getElementById("notes");
  if (!root || !("BroadcastChannel" in window)) return;
  const channel = new BroadcastChannel("s2viz-deck");
  const here = () => Number(document.getElementById("notes").dataset.current);
  const pattern = () => document.getElementById("notes").dataset.stepUrl;

  function load(n) {
    if (n === here()) return;
    const url = pattern().replace("{n}", String(n));
    fetch(url).then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status))))).then((html) => {
      const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("notes");
      if (!fresh) return;
      document.getElementById("notes").replaceWith(fresh);
      history.replaceState(null, "", url);
    }).catch(() => { location.href = url; });
  }

  channel.onmessage = (ev) => {
    const m = ev.data || {};
    if (m.from === "deck" && typeof m.step === "number") load(m.step);
  };
  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const cmd = { ArrowRight: "next", PageDown: "next", " ": "next", ArrowLeft: "prev", PageUp: "prev" }[ev.key];
    if (cmd) channel.postMessage({ from: "notes", cmd });
    else if (ev.key === "Home") channel.postMessage({ from: "notes", cmd: "step", step: 1 });
    else if (ev.key === "End") channel.postMessage({ from: "notes", cmd: "step", step: Number(root.dataset.total) });
    else return;
    ev.preventDefault();
  });
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest("#notes a[data-step]");
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    channel.postMessage({ from: "notes", cmd: "step", step: Number(a.dataset.step) });
    load(Number(a.dataset.step));
  });
  channel.postMessage({ from: "notes", cmd: "hello" });
})();
