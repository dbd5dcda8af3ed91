// Behaviour map: draw the heatmap from its JSON island (Plotly loaded here, only on this page);
// clicking a cell opens its permalink.
(function () {
  "use strict";
  const box = document.querySelector("[data-figure-island]");
  if (!box) return;
  const fig = JSON.parse(document.getElementById(box.dataset.figureIsland).textContent);
  const s = document.createElement("script");
  s.src = box.dataset.plotlySrc;
  s.onload = () => {
    window.Plotly.newPlot(box, fig.data, fig.layout, { displaylogo: false, responsive: true }).then(() => {
      box.on("plotly_click", (ev) => {
        const p = ev.points && ev.points[0];
        if (p && p.customdata) location.href = p.customdata;
      });
    });
  };
  document.head.appendChild(s);
})();
