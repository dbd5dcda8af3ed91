// Presenter mode, on top of the page's step player (app.js), steered through its API,
// window.s2viz: click, tap or swipe on the picture steps forward (a swipe right steps back); p plays
// at the chosen pace, + and - change it; b blanks the screen. Escape only closes what is open: it
// never leaves the deck.
(function () {
  "use strict";
  const deck = document.getElementById("deck");
  if (!deck || !window.s2viz) return;
  const player = window.s2viz;
  let seconds = 3;

  function setPace() {
    document.getElementById("pace").textContent = String(seconds);
    player.pace(seconds * 1000);
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const blank = document.getElementById("blank");
    if (ev.key === "p") player.play();
    else if (ev.key === "+" || ev.key === "=") { seconds = Math.max(1, seconds - 1); setPace(); }
    else if (ev.key === "-") { seconds = Math.min(20, seconds + 1); setPace(); }
    else if (ev.key === "b" || ev.key === ".") blank.hidden = !blank.hidden;
    else if (ev.key === "Escape") blank.hidden = true;
    else return;
    ev.preventDefault();
  });
  deck.addEventListener("click", (ev) => {
    if (ev.target.closest("a, button, input, summary, details, .player")) return;
    player.next();
  });
  let x0 = null;
  deck.addEventListener("touchstart", (ev) => { x0 = ev.touches[0].clientX; }, { passive: true });
  deck.addEventListener("touchend", (ev) => {
    if (x0 === null) return;
    const dx = ev.changedTouches[0].clientX - x0;
    x0 = null;
    if (Math.abs(dx) > 40) { if (dx < 0) player.next(); else player.prev(); }
  });
  setPace();
})();
