// The live dashboard: rows and alarms follow the server's event stream (no reload), and a small map places
// the clusters that have coordinates, on tiles when a tile source is configured and on a plain plane if not.
(function () {
  "use strict";
  const t = window.loaxaText;
  const STATES = {online: t("online"), offline: t("offline"), playing: t("playing"), failed: t("failed"),
                  off: t("switched_off")};
  const script = document.currentScript || document.querySelector("script[data-events]");
  const status = document.getElementById("live-status");
  const csrf = document.querySelector("input[name=csrf_token]");
  const rows = JSON.parse(document.getElementById("dashboard-data").textContent);
  const positions = {};

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
    positions[data.id] = data;
    drawMap();
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

  // The map: Web Mercator, zoom chosen so every placed cluster fits.
  const map = document.getElementById("map");
  function project(lat, lon, zoom) {
    const scale = 256 * Math.pow(2, zoom);
    const sin = Math.sin(lat * Math.PI / 180);
    return [(lon + 180) / 360 * scale, (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * scale];
  }
  function drawMap() {
    if (!map) return;
    const placed = Object.values(positions).filter(d => d.lat != null && d.lon != null);
    map.replaceChildren();
    if (!placed.length) return;
    const width = map.clientWidth || 600, height = map.clientHeight || 360;
    let zoom = 16;
    for (; zoom > 2; zoom--) {
      const xs = placed.map(d => project(d.lat, d.lon, zoom));
      const spanX = Math.max(...xs.map(p => p[0])) - Math.min(...xs.map(p => p[0]));
      const spanY = Math.max(...xs.map(p => p[1])) - Math.min(...xs.map(p => p[1]));
      if (spanX < width - 60 && spanY < height - 60) break;
    }
    const points = placed.map(d => [d, project(d.lat, d.lon, zoom)]);
    const cx = (Math.min(...points.map(p => p[1][0])) + Math.max(...points.map(p => p[1][0]))) / 2;
    const cy = (Math.min(...points.map(p => p[1][1])) + Math.max(...points.map(p => p[1][1]))) / 2;
    const left = cx - width / 2, top = cy - height / 2;
    const tiles = map.dataset.tiles;
    if (tiles) {
      for (let tx = Math.floor(left / 256); tx <= Math.floor((left + width) / 256); tx++) {
        for (let ty = Math.floor(top / 256); ty <= Math.floor((top + height) / 256); ty++) {
          const img = document.createElement("img");
          img.src = tiles.replace("{z}", zoom).replace("{x}", tx).replace("{y}", ty);
          img.alt = "";
          img.style.cssText = `position:absolute;left:${tx * 256 - left}px;top:${ty * 256 - top}px;width:256px;height:256px`;
          img.onerror = () => img.remove();  // no tiles (offline): the markers still stand on the plain map
          map.append(img);
        }
      }
    }
    for (const [device, [x, y]] of points) {
      const marker = document.createElement("div");
      marker.className = "state " + device.state;
      marker.dataset.marker = device.id;
      marker.title = device.name;
      marker.textContent = "● " + device.name;
      marker.style.cssText = `position:absolute;left:${x - left}px;top:${y - top}px;transform:translate(-6px,-50%);font-size:.85rem`;
      map.append(marker);
    }
  }

  for (const row of rows) showDevice(row);
  const source = new EventSource(script.dataset.events);
  source.addEventListener("open", () => { status.textContent = t("live"); status.className = "state online"; });
  source.addEventListener("error", () => { status.textContent = t("reconnecting"); status.className = "state offline"; });
  source.addEventListener("device", e => showDevice(JSON.parse(e.data)));
  source.addEventListener("alarms", e => showAlarms(JSON.parse(e.data)));
})();
