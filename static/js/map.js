// Behaviour map: draw the heatmap from its JSON island (Plotly loaded here, only on this page);
// clicking a cell opens its permalink. No toolbar: it would sit on the data, and the map has
// nothing to zoom.
(function () {
  "use strict";
  const box = document.querySelector("[data-figure-island]");
  if (!box) return;
  const fig = JSON.parse(document.getElementById(box.dataset.figureIsland).textContent);
  const s = document.createElement("script");
  s.src = box.dataset.plotlySrc;
  s.onload = () => {
    const config = { displaylogo: false, displayModeBar: false, responsive: true, scrollZoom: false };
    window.Plotly.newPlot(box, fig.data, fig.layout, config).then(() => {
      box.on("plotly_click", (ev) => {
        const p = ev.points && ev.points[0];
        const href = p && (Array.isArray(p.customdata) ? p.customdata[0] : p.customdata);
        if (href) location.href = href;
      });
    });
  };
  document.head.appendChild(s);
})();
