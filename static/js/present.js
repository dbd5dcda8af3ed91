// Presenter mode, on top of the page's step player (app.js), steered through its API,
// window.s2viz: a click, tap or swipe left on the slide steps forward, a swipe right steps back
// (overscroll-behavior keeps the browser's own swipe-back away); a tap on a glossary term only
// opens its definition. p plays at the chosen pace, + and - change it, b blanks the screen, t
// switches the light and dark themes, n opens the speaker notes. Escape only closes what is open:
// it never leaves the deck.
//
// The notes window (notes.js) and the deck talk over a BroadcastChannel: the deck says which step
// it shows after every step, and the notes window asks it to step.
(function () {
  "use strict";
  const deck = document.getElementById("deck");
  if (!deck || !window.s2viz) return;
  const player = window.s2viz;
  let seconds = 3;
  const channel = "BroadcastChannel" in window ? new BroadcastChannel("s2viz-deck") : null;

  function setPace() {
    player.pace(seconds * 1000);
  }

  function say() {
    if (channel) channel.postMessage({ from: "deck", step: player.current(), total: player.total(),
                                       path: location.pathname });
  }

  function openNotes() {
    const link = document.getElementById("notes-link");
    const url = link ? link.getAttribute("href") : deck.dataset.notes;
    window.open(url, "s2viz-notes", "popup,width=960,height=720");
  }

  function toggleTheme() {
    const link = document.querySelector(".present-nav [data-theme]");
    if (link) location.replace(link.getAttribute("href"));
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const blank = document.getElementById("blank");
    if (ev.key === "p") player.play();
    else if (ev.key === "+" || ev.key === "=") { seconds = Math.max(1, seconds - 1); setPace(); }
    else if (ev.key === "-") { seconds = Math.min(20, seconds + 1); setPace(); }
    else if (ev.key === "b" || ev.key === ".") blank.hidden = !blank.hidden;
    else if (ev.key === "n") openNotes();
    else if (ev.key === "t") toggleTheme();
    else if (ev.key === "Escape") blank.hidden = true;
    else return;
    ev.preventDefault();
  });
  deck.addEventListener("click", (ev) => {
    if (ev.target.closest("a, button, input, summary, details, .player, .term, .help-overlay, .present-nav")) return;
    player.next();
  });
  let x0 = null;
  deck.addEventListener("touchstart", (ev) => {
    x0 = ev.target.closest(".term, a, button, input") ? null : ev.touches[0].clientX;
  }, { passive: true });
  deck.addEventListener("touchend", (ev) => {
    if (x0 === null) return;
    const dx = ev.changedTouches[0].clientX - x0;
    x0 = null;
    if (Math.abs(dx) > 40) { if (dx < 0) player.next(); else player.prev(); }
  });
  if (channel) {
    channel.onmessage = (ev) => {
      const m = ev.data || {};
      if (m.from !== "notes") return;
      if (m.cmd === "next") player.next();
      else if (m.cmd === "prev") player.prev();
      else if (m.cmd === "step" && m.step !== player.current()) player.step(m.step);
      else if (m.cmd === "hello") say();
    };
  }
  document.addEventListener("htmx:after:swap", (ev) => {
    const ctx = ev.detail && ev.detail.ctx;
    if (ctx && ctx.target && ctx.target.id === "stage") {
      say();
      const link = document.getElementById("notes-link");
      if (link) link.setAttribute("href", "/notes" + location.pathname.slice("/present".length) + location.search);
      const theme = document.querySelector(".present-nav [data-theme]");
      if (theme) {
        const here = location.pathname + location.search;
        theme.setAttribute("href", theme.dataset.theme === "dark" ? here + "&theme=dark" : here.replace("&theme=dark", ""));
      }
    }
  });
  setPace();
  say();
})();
