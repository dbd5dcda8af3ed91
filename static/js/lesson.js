// Predict, then reveal: picking an answer opens the verdict and says whether the guess was right.
(function () {
  "use strict";
  document.addEventListener("change", (ev) => {
    const input = ev.target;
    if (!input.matches(".predict input[type=radio]")) return;
    const part = input.closest(".lesson-part");
    part.querySelectorAll(".predict label").forEach((l) => l.classList.remove("right", "wrong"));
    const label = input.closest("label");
    label.classList.add(input.dataset.right === "1" ? "right" : "wrong");
    part.querySelectorAll(".predict input").forEach((i) => {
      if (i.dataset.right === "1") i.closest("label").classList.add("right");
    });
    part.querySelector("details.reveal").open = true;
  });
})();
