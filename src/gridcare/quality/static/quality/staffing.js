/* The staffing page's bar chart (ECharts, vendored): agents needed and positions per half hour,
 * forecast calls as a line. Loaded as a static file (the CSP allows no inline script); the figures
 * come from the data-staffing-chart attribute of the result, drawn again after each htmx swap. */
(function () {
  "use strict";

  function draw(root) {
    if (!window.echarts) return;
    (root || document).querySelectorAll("[data-staffing-chart]").forEach(function (el) {
      const data = JSON.parse(el.dataset.staffingChart);
      const chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el);
      chart.setOption(
        {
          animation: false,
          tooltip: { trigger: "axis" },
          legend: { top: 0 },
          grid: { left: 40, right: 40, top: 30, bottom: 30 },
          xAxis: { type: "category", data: data.labels },
          yAxis: [
            { type: "value", minInterval: 1, name: "" },
            { type: "value", splitLine: { show: false } },
          ],
          series: [
            { name: data.names.agents, type: "bar", data: data.agents },
            { name: data.names.positions, type: "bar", data: data.positions },
            { name: data.names.calls, type: "line", yAxisIndex: 1, data: data.calls, symbol: "none" },
          ],
        },
        true
      );
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-staffing-chart]").forEach(function (el) {
      const chart = window.echarts && window.echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  });
})();
