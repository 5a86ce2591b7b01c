/* 业扩报装统计: average working days per node (bars) and late nodes (line), ECharts (vendored).
 * A static file (the CSP allows no inline script); the figures come from data-figures-chart. */
(function () {
  "use strict";

  function draw() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-figures-chart]").forEach(function (el) {
      const data = JSON.parse(el.dataset.figuresChart);
      const chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el);
      chart.setOption(
        {
          animation: false,
          tooltip: { trigger: "axis" },
          legend: { top: 0 },
          grid: { left: 40, right: 40, top: 30, bottom: 30 },
          xAxis: { type: "category", data: data.labels },
          yAxis: [{ type: "value" }, { type: "value", minInterval: 1, splitLine: { show: false } }],
          series: [
            { name: data.names.days, type: "bar", data: data.days },
            { name: data.names.late, type: "line", yAxisIndex: 1, data: data.late },
          ],
        },
        true
      );
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-figures-chart]").forEach(function (el) {
      const chart = window.echarts && window.echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  });
})();
