// A broadcast's page follows each cluster through the server's event stream (no reload): state, the device's own
// start and end times, errors; the page's badge follows the broadcast.
(function () {
  "use strict";
  const t = window.loaxaText;
  const script = document.currentScript;
  const table = document.getElementById("deliveries");
  if (!table || !window.EventSource) return;

  function badge(element, state) {
    element.className = "state " + state;
    element.textContent = t("state_" + state);
  }

  const source = new EventSource(script.dataset.events);
  source.addEventListener("delivery", event => {
    const data = JSON.parse(event.data);
    const row = table.querySelector(`tr[data-device="${CSS.escape(data.device_id)}"]`);
    if (!row) return;
    badge(row.querySelector("[data-field=state] span"), data.state);
    row.querySelector("[data-field=started_at]").textContent = window.loaxaMoment(data.started_at, script.dataset.zone);
    row.querySelector("[data-field=finished_at]").textContent = window.loaxaMoment(data.finished_at, script.dataset.zone);
    // ``said``: the error in the page's language, as the server wrote it for this page (escaped HTML).
    row.querySelector("[data-field=error]").innerHTML = data.said || "";
    row.dataset.state = data.state;
  });
  source.addEventListener("broadcast", event => {
    const data = JSON.parse(event.data);
    const element = document.getElementById("broadcast-state");
    if (element) badge(element, data.state);
  });
})();
