// Glossary terms: CSS shows a definition on hover and focus; a tap (or click) toggles it, Escape
// closes it, and a tap elsewhere closes any open one.
(function () {
  "use strict";
  const close = (except) => document.querySelectorAll(".term.open").forEach((t) => {
    if (t !== except) t.classList.remove("open");
  });
  document.addEventListener("click", (ev) => {
    if (ev.target.closest(".term-def a")) return;
    const term = ev.target.closest(".term");
    close(term);
    if (term) term.classList.toggle("open");
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") close(null);
  });
})();
