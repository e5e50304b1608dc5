// The live dashboard: the rows on screen (clusters of this page, child areas' counts, the totals) and the
// alarms follow the server's event stream, which sends only what this page shows (no reload). The map is
// static/map.js's own (templates/_map.html).
(function () {
  "use strict";
  const t = window.loaxaText;
  const STATES = {online: t("online"), offline: t("offline"), playing: t("playing"), failed: t("failed"),
                  off: t("switched_off")};
  const script = document.currentScript || document.querySelector("script[data-events]");
  const status = document.getElementById("live-status");
  const csrf = document.querySelector("input[name=csrf_token]");

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

  // A child area's counts, and the area's totals, as the roll-up has them (a few seconds old at most).
  function showArea(data) {
    const row = document.querySelector(`#areas tr[data-area="${CSS.escape(String(data.id))}"]`);
    if (!row) return;
    for (const field of ["clusters", "online", "playing", "offline", "failed_today", "alarms", "low_signal"]) {
      const place = cell(row, field);
      if (place) place.textContent = window.loaxaNumber(data[field], 0);
    }
    const reach = cell(row, "emergency_reach");
    if (reach) reach.textContent = data.emergency_reach
      ? `${window.loaxaNumber(data.emergency_reach.played, 0)}/${window.loaxaNumber(data.emergency_reach.sent, 0)}` : "—";
    row.classList.toggle("attention", Boolean(data.offline || data.failed_today || data.alarms));
  }

  function showTotals(totals) {
    for (const place of document.querySelectorAll("#totals [data-count]")) {
      const key = place.dataset.count;
      if (key === "emergency_reach") {
        if (totals.emergency_reach) place.textContent = t("emergency_reach", {
          played: window.loaxaNumber(totals.emergency_reach.played, 0),
          sent: window.loaxaNumber(totals.emergency_reach.sent, 0)});
        continue;
      }
      // The words stay the server's; only the number in front changes.
      place.textContent = place.textContent.replace(/^[\d.]+/, window.loaxaNumber(totals[key], 0));
      if (["offline", "failed_today", "alarms"].includes(key)) place.classList.toggle("bad", totals[key] > 0);
    }
  }

  const source = new EventSource(script.dataset.events);
  source.addEventListener("open", () => { status.textContent = t("live"); status.className = "state online"; });
  source.addEventListener("error", () => { status.textContent = t("reconnecting"); status.className = "state offline"; });
  source.addEventListener("device", e => showDevice(JSON.parse(e.data)));
  source.addEventListener("alarms", e => showAlarms(JSON.parse(e.data)));
  source.addEventListener("area", e => showArea(JSON.parse(e.data)));
  source.addEventListener("totals", e => showTotals(JSON.parse(e.data)));
})();
