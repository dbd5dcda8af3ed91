// Glossary terms: CSS shows a definition on hover (with a mouse), on keyboard focus, and while the
// term is "open". A tap or click opens it and a second one closes it; a tap elsewhere closes any
// open one; Escape closes it even while it has the focus (it shows again when the focus or the
// pointer comes back). Inside presenter mode a tap on a term never steps the deck (present.js).
(function () {
  "use strict";
  const close = (except) => document.querySelectorAll(".term.open").forEach((t) => {
    if (t !== except) t.classList.remove("open");
  });
  document.addEventListener("click", (ev) => {
    if (ev.target.closest(".term-def a")) return;
    const term = ev.target.closest(".term");
    close(term);
    if (!term) return;
    const open = term.classList.toggle("open");
    term.classList.toggle("shut", !open);
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape") return;
    close(null);
    const term = document.activeElement && document.activeElement.closest && document.activeElement.closest(".term");
    if (term) term.classList.add("shut");
  });
  const reopen = (ev) => {
    const term = ev.target.closest && ev.target.closest(".term");
    if (term && !term.contains(ev.relatedTarget)) term.classList.remove("shut");
  };
  document.addEventListener("focusout", reopen);
  document.addEventListener("mouseout", reopen);
})();
