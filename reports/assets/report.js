// Draws report.html's charts with uPlot from the specs in #bench-charts (built by reports/charts.ts)
// and shades the run's fault windows on every time chart. Plain ES2017 and no modules, so the
// report works when opened from file:// with no network.
(function () {
  'use strict';
  var dataEl = document.getElementById('bench-charts');
  if (!dataEl) return;
  if (typeof uPlot === 'undefined') {
    console.error('bench report: uPlot is missing from the page');
    return;
  }
  var payload = JSON.parse(dataEl.textContent);
  var faults = payload.faults || [];
  var plots = [];
  var HEIGHT = 240;

  function fmt(v, unit) {
    if (v == null || !isFinite(v)) return '—';
    var a = Math.abs(v);
    var s = a >= 100 ? Math.round(v).toLocaleString('en-US') : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
    return unit ? s + ' ' + unit : s;
  }

  function fmtAxis(v, unit) {
    if (v == null) return '';
    var a = Math.abs(v);
    var s = a >= 10000 ? (v / 1000).toFixed(a >= 100000 ? 0 : 1) + 'k' : a >= 100 || Number.isInteger(v) ? String(Math.round(v)) : String(+v.toFixed(3));
    return unit === '%' ? s + '%' : s;
  }

  // A uPlot plugin: after everything is drawn, shade each fault window and write its label.
  function faultPlugin() {
    return {
      hooks: {
        draw: [
          function (u) {
            if (!faults.length) return;
            var ctx = u.ctx;
            var px = uPlot.pxRatio || 1;
            var left = u.bbox.left;
            var top = u.bbox.top;
            var right = left + u.bbox.width;
            var height = u.bbox.height;
            ctx.save();
            faults.forEach(function (f, i) {
              var end = f.endS == null ? u.scales.x.max : f.endS;
              var x0 = Math.max(left, u.valToPos(f.startS, 'x', true));
              var x1 = Math.min(right, u.valToPos(end, 'x', true));
              if (!(x1 > x0)) return;
              // the warm-up is shaded grey: not a fault, only not measured; a --burst blue: more load, not a fault
              var warm = f.kind === 'warmup';
              var burst = f.kind === 'burst';
              ctx.fillStyle = warm ? 'rgba(120, 120, 120, 0.14)' : burst ? 'rgba(31, 119, 180, 0.12)' : 'rgba(214, 39, 40, 0.13)';
              ctx.fillRect(x0, top, x1 - x0, height);
              ctx.strokeStyle = warm ? 'rgba(90, 90, 90, 0.7)' : burst ? 'rgba(31, 119, 180, 0.7)' : 'rgba(214, 39, 40, 0.75)';
              ctx.lineWidth = px;
              ctx.setLineDash([4 * px, 3 * px]);
              ctx.beginPath();
              ctx.moveTo(x0, top);
              ctx.lineTo(x0, top + height);
              if (f.endS != null) {
                ctx.moveTo(x1, top);
                ctx.lineTo(x1, top + height);
              }
              ctx.stroke();
              ctx.setLineDash([]);
              ctx.fillStyle = warm ? '#444' : burst ? '#174f78' : '#9e1b1b';
              ctx.font = 600 + ' ' + 11 * px + 'px system-ui, sans-serif';
              ctx.textBaseline = 'top';
              ctx.textAlign = 'left';
              ctx.fillText(f.label, x0 + 4 * px, top + (4 + 14 * (i % 4)) * px);
            });
            ctx.restore();
          },
        ],
      },
    };
  }

  function widthOf(el) {
    return Math.max(320, Math.floor(el.clientWidth || 800));
  }

  function build(spec) {
    var el = document.getElementById('chart-' + spec.id);
    if (!el) return;
    var series = [
      {
        label: 't',
        value: function (u, v) {
          return v == null ? '—' : fmt(v, 's');
        },
      },
    ];
    spec.series.forEach(function (s) {
      var one = {
        label: s.label,
        stroke: s.color,
        width: 1.6,
        spanGaps: spec.spanGaps !== false,
        value: function (u, v) {
          return fmt(v, spec.unit);
        },
      };
      if (s.dashed) one.dash = [6, 4];
      series.push(one);
    });
    var opts = {
      width: widthOf(el),
      height: HEIGHT,
      scales: {
        // Every time chart spans the whole load, so charts line up one under the other.
        x: {
          time: false,
          range: function (u, min, max) {
            return [Math.min(0, min), Math.max(payload.durationS || 0, max)];
          },
        },
        // Rates, latencies and ratios read best from zero; ratios in percent up to 100.
        y: {
          range: function (u, min, max) {
            var top = max > 0 ? max * 1.08 : 1;
            if (spec.unit === '%') top = Math.max(100, top);
            return [Math.min(0, min), top];
          },
        },
      },
      axes: [
        { label: 'seconds since the load started', labelSize: 22 },
        {
          label: spec.unit,
          size: 58,
          values: function (u, vals) {
            return vals.map(function (v) {
              return fmtAxis(v, spec.unit);
            });
          },
        },
      ],
      series: series,
      cursor: { drag: { x: true, y: false } },
      plugins: [faultPlugin()],
    };
    var data = [spec.x].concat(
      spec.series.map(function (s) {
        return s.values;
      }),
    );
    try {
      plots.push({ el: el, plot: new uPlot(opts, data, el) });
    } catch (err) {
      el.textContent = 'chart failed: ' + err;
      console.error('bench report: chart ' + spec.id + ' failed', err);
    }
  }

  payload.charts.forEach(build);

  var pending = 0;
  window.addEventListener('resize', function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () {
      plots.forEach(function (p) {
        p.plot.setSize({ width: widthOf(p.el), height: HEIGHT });
      });
    });
  });
  document.documentElement.setAttribute('data-charts-drawn', String(plots.length));
})();
