// 供电服务指挥大屏: refreshes itself from the data URL every few seconds (no one at the keyboard).
(function () {
  "use strict";
  var body = document.body;
  var source = body.getAttribute("data-source");
  var every = parseInt(body.getAttribute("data-refresh"), 10) || 5000;
  var tree = window.echarts ? window.echarts.init(document.getElementById("w-topology"), null, { renderer: "canvas" }) : null;
  var COLORS = { normal: "#2e9f6e", suspect: "#ffc145", outage: "#ff4d4f" };

  function text(id, value) { var el = document.getElementById(id); if (el) { el.textContent = value === null || value === undefined ? "—" : String(value); } }
  function cell(row, value, cls) { var td = document.createElement("td"); td.textContent = value; if (cls) { td.className = cls; } row.appendChild(td); return td; }
  function fill(id, rows, build) { var body = document.getElementById(id); body.textContent = ""; rows.forEach(function (r) { body.appendChild(build(r)); }); }
  function chips(id, items) {
    var box = document.getElementById(id); box.textContent = "";
    items.forEach(function (it) { var c = document.createElement("span"); c.className = "chip"; c.textContent = it.label; var b = document.createElement("b"); b.textContent = it.n; c.appendChild(b); box.appendChild(c); });
  }

  function drawTopology(topology) {
    if (!tree) { return; }
    function node(n) {
      var out = { name: n.name };
      if (n.children) { out.children = n.children.map(node); }
      if (n.status) {
        out.itemStyle = { color: COLORS[n.status], borderColor: COLORS[n.status] };
        out.symbolSize = n.status === "normal" ? 9 : 16;
        if (n.status !== "normal") { out.label = { color: COLORS[n.status], fontWeight: "bold" }; }
      }
      return out;
    }
    tree.setOption({
      animation: false,
      series: [{
        type: "tree", data: [node(topology)], top: 10, bottom: 10, left: 120, right: 160,
        orient: "LR", symbol: "circle", symbolSize: 12, initialTreeDepth: -1, expandAndCollapse: false,
        lineStyle: { color: "#2b5f8a", width: 1.5, curveness: 0.3 },
        label: { color: "#dbe7f3", fontSize: 15, position: "left", verticalAlign: "middle", align: "right" },
        leaves: { label: { position: "right", align: "left", fontSize: 13 } },
        itemStyle: { color: "#7cc4ff", borderColor: "#7cc4ff" }
      }]
    }, true);
  }

  function render(d) {
    text("w-unit", d.unit); text("w-at", d.at);
    text("w-ringing", d.calls.ringing); text("w-talking", d.calls.talking);
    text("w-offered", d.calls.offered_today);
    text("w-rate", d.calls.answer_rate === null ? null : d.calls.answer_rate + "%");
    chips("w-agents", d.calls.agents);
    text("w-orders-total", d.orders.open + " · " + body.getAttribute("data-near") + " " + d.orders.near + " · " + body.getAttribute("data-overdue") + " " + d.orders.overdue);
    fill("w-orders", d.orders.by_type, function (r) {
      var tr = document.createElement("tr"); cell(tr, r.type); cell(tr, r.open, "num");
      cell(tr, r.near, r.near ? "num warn" : "num"); cell(tr, r.overdue, r.overdue ? "num bad" : "num"); return tr;
    });
    text("w-events-total", d.events.length);
    fill("w-events", d.events.slice(0, 8), function (e) {
      var tr = document.createElement("tr"); if (e.hazard) { tr.className = "hazard"; }
      cell(tr, e.number); cell(tr, e.device); cell(tr, e.state); cell(tr, e.affected, "num"); cell(tr, e.crew || "—"); cell(tr, e.minutes + "′", "num"); return tr;
    });
    chips("w-crews", d.crews);
    text("w-ontime", d.arrivals.on_time); text("w-late", d.arrivals.late);
    text("w-running", d.arrivals.running); text("w-avg", d.arrivals.avg_minutes);
    var hot = document.getElementById("w-hot"); hot.textContent = "";
    d.hot_spots.forEach(function (h) { var li = document.createElement("li"); li.textContent = h.where; var s = document.createElement("span"); s.textContent = h.complaints; li.appendChild(s); hot.appendChild(li); });
    drawTopology(d.topology);
  }

  function refresh() {
    fetch(source, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 403) { window.location.reload(); throw new Error("closed"); }
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.json();
      })
      .then(function (d) { render(d); document.getElementById("w-stale").hidden = true; body.setAttribute("data-loaded", d.at); })
      .catch(function () { document.getElementById("w-stale").hidden = false; })
      .then(function () { window.setTimeout(refresh, every); });
  }
  refresh();
})();
