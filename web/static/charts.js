// Interactive charts (uPlot, vendored): values in the legend on hover, drag to zoom, double-click to zoom out.
// Each <div class="chart" data-chart="ID"> is drawn from the JSON in <script type="application/json" id="ID">.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "de";
  var number = new Intl.NumberFormat(lang, {maximumFractionDigits: 3});
  var day = new Intl.DateTimeFormat(lang, {year: "numeric", month: "short", day: "numeric", timeZone: "UTC"});

  function value(v) { return v == null ? "–" : number.format(v); }

  // Ticks at the data's own x values (days, depths, sizes), thinned to one per ~90 px: never overlapping labels.
  function splits(u, axis, min, max) {
    var xs = u.data[0].filter(function (x) { return x >= min && x <= max; });
    var room = Math.max(2, Math.floor(u.bbox.width / (window.devicePixelRatio || 1) / 90));
    var step = Math.ceil(xs.length / room);
    return xs.filter(function (x, i) { return i % step === 0; });
  }

  function options(spec, width) {
    var scales = {x: {time: !!spec.time}};
    if (spec.log) { scales.x.distr = 3; }
    var axes = [{splits: splits, values: spec.time ? function (u, splits) { return splits.map(function (s) { return day.format(new Date(s * 1000)); }); }
                                   : function (u, splits) { return splits.map(value); }}];
    if (spec.scales.n) {
      scales.n = {auto: true};
      axes.push({scale: "n", label: spec.scales.n, values: function (u, splits) { return splits.map(value); }});
    }
    scales.share = {auto: true};
    axes.push({scale: "share", label: spec.scales.share, side: spec.scales.n ? 1 : 3, grid: {show: !spec.scales.n},
               values: function (u, splits) { return splits.map(value); }});
    var series = [{label: spec.x_label,
                   value: spec.time ? function (u, v) { return v == null ? "–" : day.format(new Date(v * 1000)); }
                                    : function (u, v) { return value(v); }}];
    spec.series.forEach(function (s) {
      series.push({label: s.label, scale: s.scale, stroke: s.color, width: 2, spanGaps: true,
                   dash: s.dash ? [6, 4] : undefined, points: {show: true, size: 6},
                   fill: s.scale === "n" ? s.color + "33" : undefined,
                   value: function (u, v) { return value(v); }});
    });
    return {width: width, height: 260, scales: scales, axes: axes, series: series,
            cursor: {drag: {x: true, y: false}, focus: {prox: 24}}, legend: {live: true}};
  }

  function draw(el) {
    var source = document.getElementById(el.dataset.chart);
    if (!source || typeof uPlot === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var plot = new uPlot(options(spec, el.clientWidth || 600), data, el);
    el.classList.add("drawn");
    if (window.ResizeObserver) {
      // Only a new width redraws: the legend growing with hovered values changes the height, and a redraw then
      // would clear the cursor (and the values) again.
      var width = el.clientWidth;
      new ResizeObserver(function () {
        if (el.clientWidth !== width) { width = el.clientWidth; plot.setSize({width: width, height: 260}); }
      }).observe(el);
    }
  }

  document.querySelectorAll(".chart[data-chart]").forEach(draw);
})();
