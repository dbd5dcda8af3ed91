// Presenter mode: one step per slide; arrows, PageUp/PageDown (clickers) and space step; p plays at
// the chosen pace; + and - change the pace; b blanks the screen; Escape leaves.
(function () {
  "use strict";
  const deck = document.getElementById("deck");
  if (!deck) return;
  const total = Number(deck.dataset.total);
  let n = Number(deck.dataset.current), timer = null, pace = 3;

  function show(k) {
    n = Math.max(1, Math.min(total, k));
    deck.querySelectorAll(".slide").forEach((s) => { s.hidden = Number(s.dataset.n) !== n; });
    const verdict = deck.querySelector(".present-verdict");
    if (verdict) verdict.hidden = n < total;      // no spoilers before the last step
    const url = new URL(location.href);
    url.searchParams.set("step", String(n));
    history.replaceState(null, "", url.pathname + url.search.replace(/%2C/gi, ","));
  }
  function play() {
    if (timer) { clearInterval(timer); timer = null; return; }
    timer = setInterval(() => { if (n >= total) { clearInterval(timer); timer = null; } else show(n + 1); }, pace * 1000);
  }
  document.addEventListener("keydown", (ev) => {
    const blank = document.getElementById("blank");
    const step = { ArrowRight: 1, ArrowDown: 1, PageDown: 1, " ": 1, ArrowLeft: -1, ArrowUp: -1, PageUp: -1 };
    if (ev.key in step) show(n + step[ev.key]);
    else if (ev.key === "Home") show(1);
    else if (ev.key === "End") show(total);
    else if (ev.key === "p") play();
    else if (ev.key === "+" || ev.key === "=") pace = Math.max(1, pace - 1);
    else if (ev.key === "-") pace = Math.min(20, pace + 1);
    else if (ev.key === "b" || ev.key === ".") blank.hidden = !blank.hidden;
    else if (ev.key === "Escape") location.href = deck.dataset.full;
    else return;
    document.getElementById("pace").textContent = String(pace);
    if (timer && (ev.key === "+" || ev.key === "=" || ev.key === "-")) { play(); play(); }
    ev.preventDefault();
  });
  show(n);
})();
