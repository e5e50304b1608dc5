// The live dashboard: rows and alarms follow the server's event stream (no reload). The map beside them is
// static/map.js's own (templates/_map.html).
(function () {
  "use strict";
  const t = window.loaxaText;
  const STATES = {online: t("online"), offline: t("offline"), playing: t("playing"), failed: t("failed"),
                  off: t("switched_off")};
  const script = document.currentScript || document.querySelector("script[data-events]");
  const status = document.getElementById("live-status");
  const csrf = document.querySelector("input[name=csrf_token]");
  const rows = JSON.parse(document.getElementById("dashboard-data").textContent);

  function cell(row, field) { return row.querySelector(`[data-field="${field}"]`); }

  function showDevice(data) {
    const row = document.querySelector(`#dashboard tr[data-device="${CSS.escape(data.id)}"]`);
    if (!row) return;
    const badge = document.createElement("span");
    badge.className = "state " + data.state;
    badge.textContent = STATES[data.state] || data.state;
    cell(row, "state").replaceChildren(badge);
    if (data.pending) {  // what the operator set, until the cluster reports it has it
      const wait = document.createElement("small");
      wait.className = "pending-note";
      wait.textContent = " " + t("pending");
      cell(row, "state").append(wait);
    }
    const volume = row.querySelector("input[name=volume]");
    if (volume && document.activeElement !== volume && data.volume != null) volume.value = data.volume;
    cell(row, "last_seen").textContent = window.loaxaMoment(data.last_seen, script.dataset.zone);
    cell(row, "playing").textContent = data.now_playing ? "▶ " + (data.now_playing.title || "#" + data.now_playing.id)
      : (data.last_played ? "✓ " + data.last_played.title : "—");
    cell(row, "amplifier").textContent = {on: t("on"), off: t("off")}[data.amplifier] || "—";
    cell(row, "cpu_temp_c").textContent = data.cpu_temp_c == null ? "—" : window.loaxaNumber(data.cpu_temp_c, 1) + " °C";
    cell(row, "link_quality").textContent = data.link_quality == null ? "—" : window.loaxaNumber(data.link_quality, 0) + "%";
    cell(row, "alarms").textContent = data.alarms || "";
    row.dataset.state = data.state;
  }

  function showAlarms(alarms) {
    const list = document.getElementById("alarms");
    list.replaceChildren();
    if (!alarms.length) {
      const none = document.createElement("li");
      none.textContent = t("no_alarms");
      list.append(none);
    }
    for (const alarm of alarms) {
      const item = document.createElement("li");
      item.dataset.alarm = alarm.id;
      // ``said``: the alarm in the page's language, as the server wrote it for this page (escaped HTML).
      const words = document.createElement("span");
      if (alarm.said != null) words.innerHTML = alarm.said; else words.textContent = alarm.message;
      item.append(`${alarm.device}: `, words, `${alarm.cleared_at ? " " + t("cleared") : ""} `);
      if (csrf && document.body.dataset.canOperate !== "no") {
        const form = document.createElement("form");
        form.method = "post";
        form.className = "inline";
        form.action = `/alarms/${alarm.id}/ack`;
        const token = csrf.cloneNode();
        const button = document.createElement("button");
        button.type = "submit";
        button.textContent = t("ack");
        form.append(token, button);
        item.append(form);
      }
      list.append(item);
    }
  }

  for (const row of rows) showDevice(row);
  const source = new EventSource(script.dataset.events);
  source.addEventListener("open", () => { status.textContent = t("live"); status.className = "state online"; });
  source.addEventListener("error", () => { status.textContent = t("reconnecting"); status.className = "state offline"; });
  source.addEventListener("device", e => showDevice(JSON.parse(e.data)));
  source.addEventListener("alarms", e => showAlarms(JSON.parse(e.data)));
})();
