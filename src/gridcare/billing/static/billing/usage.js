// Daily usage of a prepaid account (ECharts, vendored): data from a json_script element, no inline script.
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("usage-data");
    var el = document.getElementById("usage-chart");
    if (!holder || !el || !window.echarts) { return; }
    var data = JSON.parse(holder.textContent);
    var chart = window.echarts.init(el);
    var bar = function (key) { return { name: data.names[key], type: "bar", stack: "kwh", data: data[key] }; };
    var split = ["peak", "flat", "valley"].some(function (k) {
      return data[k].some(function (v) { return v > 0; });
    });
    var series = split ? [bar("peak"), bar("flat"), bar("valley")] : [bar("kwh")];
    chart.setOption({
      grid: { left: 40, right: 12, top: 28, bottom: 28 },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      xAxis: { type: "category", data: data.labels },
      yAxis: { type: "value", name: "kWh" },
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
