// A broadcast's page follows each cluster through the server's event stream (no reload): state, the device's own
// start and end times, errors; the page's badge follows the broadcast.
(function () {
  "use strict";
  const t = window.loaxaText;
  const script = document.currentScript;
  const table = document.getElementById("deliveries");
  if (!table || !window.EventSource) return;

  function localTime(iso) {
    if (!iso) return "—";
    const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
      timeZone: script.dataset.zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", second: "2-digit", hourCycle: "h23"}).formatToParts(new Date(iso)).map(p => [p.type, p.value]));
    return `${parts.hour}:${parts.minute}:${parts.second} ${parts.day}/${parts.month}/${parts.year}`;
  }
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
    row.querySelector("[data-field=started_at]").textContent = localTime(data.started_at);
    row.querySelector("[data-field=finished_at]").textContent = localTime(data.finished_at);
    row.querySelector("[data-field=error]").textContent = data.error || "";
    row.dataset.state = data.state;
  });
  source.addEventListener("broadcast", event => {
    const data = JSON.parse(event.data);
    const element = document.getElementById("broadcast-state");
    if (element) badge(element, data.state);
  });
})();
