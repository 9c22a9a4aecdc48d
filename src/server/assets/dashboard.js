// The runs page's only script: refreshes the panel (server-rendered HTML) and the activity chart
// in place, and sends the run buttons to the JSON API. Loaded from our own origin (see the CSP).
(() => {
  'use strict';
  const PANEL_REFRESH_MS = 3_000;
  const CHART_REFRESH_MS = 30_000;
  const CHART_HEIGHT = 220;
  const panel = document.getElementById('panel');
  const flash = document.getElementById('flash');
  const chartBox = document.getElementById('activity-chart');
  const chartEmpty = document.getElementById('activity-empty');
  let chart = null;

  function say(message, isError) {
    flash.textContent = message;
    flash.className = isError ? 'error' : 'ok';
    flash.hidden = false;
  }

  // Without 'text/html' in Accept the server answers an expired session with 401, not the login page.
  async function get(path) {
    const response = await fetch(path, { headers: { accept: 'application/json, */*' } });
    if (response.status === 401) {
      window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
      throw new Error('session expired');
    }
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response;
  }

  async function refreshPanel() {
    panel.innerHTML = await (await get('/runs/panel')).text();
  }

  async function refreshChart() {
    const activity = await (await get('/api/activity?minutes=60')).json();
    const data = [activity.minutes, activity.pages, activity.responses['rate-limited']];
    chartEmpty.hidden = Object.values(activity.responses).some((series) => series.some((count) => count > 0));
    if (chart) {
      chart.setData(data);
      return;
    }
    chart = new uPlot(
      {
        width: chartBox.clientWidth,
        height: CHART_HEIGHT,
        // An idle hour is all zeros: without a floor on the y range uPlot finds no scale and
        // draws no axes at all, which reads as a broken chart.
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, max)] } },
        series: [
          {},
          { label: 'pages/min', stroke: '#2563eb', fill: 'rgba(37, 99, 235, 0.08)', width: 2, points: { show: false } },
          { label: '429s/min', stroke: '#dc2626', width: 2, points: { show: false } },
        ],
        axes: [{}, { label: 'per minute' }],
      },
      data,
      chartBox,
    );
  }

  function every(ms, work) {
    const tick = () =>
      work()
        .catch((err) => say(`cannot refresh: ${err.message}`, true))
        .finally(() => setTimeout(tick, ms));
    tick();
  }

  panel.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const { action, run } = button.dataset;
    button.disabled = true;
    try {
      const response = await fetch(`/api/runs/${run}/${action}`, { method: 'POST' });
      const body = await response.json().catch(() => ({}));
      if (response.ok) say(`run ${run}: ${action} done (now ${body.run.status})`, false);
      else say(body.error || `${action} failed (${response.status})`, true);
      await refreshPanel();
    } catch (err) {
      say(`${action} failed: ${err.message}`, true);
      button.disabled = false;
    }
  });

  window.addEventListener('resize', () => chart && chart.setSize({ width: chartBox.clientWidth, height: CHART_HEIGHT }));
  setTimeout(() => every(PANEL_REFRESH_MS, refreshPanel), PANEL_REFRESH_MS);
  every(CHART_REFRESH_MS, refreshChart);
})();
