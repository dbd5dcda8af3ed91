// Presenter mode, on top of the page's step player (app.js): click, tap or swipe on the picture
// steps forward (a swipe right steps back); p plays at the chosen pace, + and - change it; b blanks
// the screen. Escape only closes what is open: it never leaves the deck.
(function () {
  "use strict";
  const deck = document.getElementById("deck");
  if (!deck) return;
  let pace = 3;
  const press = (key) => document.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));

  function setPace() {
    document.getElementById("pace").textContent = String(pace);
    const s = document.getElementById("stage");
    if (s) s.dataset.pace = String(pace * 1000);
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const blank = document.getElementById("blank");
    if (ev.key === "p") press(" ");
    else if (ev.key === "+" || ev.key === "=") pace = Math.max(1, pace - 1);
    else if (ev.key === "-") pace = Math.min(20, pace + 1);
    else if (ev.key === "b" || ev.key === ".") blank.hidden = !blank.hidden;
    else if (ev.key === "Escape") { blank.hidden = true; }
    else return;
    setPace();
    ev.preventDefault();
  });
  deck.addEventListener("click", (ev) => {
    if (ev.target.closest("a, button, input, summary, details, .player")) return;
    press("ArrowRight");
  });
  let x0 = null;
  deck.addEventListener("touchstart", (ev) => { x0 = ev.touches[0].clientX; }, { passive: true });
  deck.addEventListener("touchend", (ev) => {
    if (x0 === null) return;
    const dx = ev.changedTouches[0].clientX - x0;
    x0 = null;
    if (Math.abs(dx) > 40) press(dx < 0 ? "ArrowRight" : "ArrowLeft");
  });
  document.addEventListener("htmx:after:swap", setPace);
  new MutationObserver(setPace).observe(deck, { childList: true });
  setPace();
})();
