// Statistics charts (ECharts, vendored): the data comes from a json_script element, no inline script.
(function () {
  "use strict";
  var holder = document.getElementById("chart-data");
  if (!holder || !window.echarts) { return; }
  var data = JSON.parse(holder.textContent);
  var common = { grid: { left: 48, right: 16, top: 24, bottom: 40 }, tooltip: { trigger: "axis" } };
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = window.echarts.init(el);
    chart.setOption(Object.assign({}, common, option));
    window.addEventListener("resize", function () { chart.resize(); });
  }
  var trendSeries = [{ name: data.name, type: "line", data: data.trend.values, connectNulls: false, smooth: false }];
  if (data.trend.target !== null) {
    trendSeries[0].markLine = { silent: true, symbol: "none", lineStyle: { type: "dashed" }, data: [{ yAxis: data.trend.target }] };
  }
  draw("chart-trend", {
    xAxis: { type: "category", data: data.trend.labels },
    yAxis: { type: "value", name: data.unit_label },
    series: trendSeries
  });
  draw("chart-units", {
    xAxis: { type: "category", data: data.units.labels, axisLabel: { interval: 0, rotate: data.units.labels.length > 6 ? 30 : 0 } },
    yAxis: { type: "value", name: data.unit_label },
    series: [{ name: data.name, type: "bar", data: data.units.values }]
  });
})();
