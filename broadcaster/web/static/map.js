// The fleet's map (templates/_map.html): Leaflet, vendored, with the clusters grouped when they stand close
// (Leaflet.markercluster), each coloured by its state as in the dashboard's list; over the configured tiles, or
// with none over the areas' outlines on a plain background. Its data is compact JSON from the map's address,
// asked again every few seconds (answered 304 while nothing changed). A click on a cluster opens its page; an
// operator places a cluster by choosing it and clicking on the map, after a confirmation.
(function () {
  "use strict";
  const box = document.getElementById("fleet-map");
  if (!box || !window.L || !L.markerClusterGroup) return;
  const words = JSON.parse(document.getElementById("map-text").textContent);
  const say = (key, values) => {
    let result = words[key] || key;
    for (const [name, value] of Object.entries(values || {})) result = result.replace(`%(${name})s`, value);
    return result;
  };
  const REFRESH_MS = 10000;
  const URGENCY = ["failed", "offline", "playing", "online", "off"];  // a group takes its most urgent member's colour
  const maxZoom = Number(box.dataset.maxZoom) || 19;

  const map = L.map(box, {maxZoom: maxZoom, worldCopyJump: true});
  map.attributionControl.setPrefix(false);
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, {maxZoom: maxZoom, attribution: box.dataset.attribution || ""}).addTo(map);
  }
  map.setView([16.0, 106.5], 5);  // Việt Nam, until the data says where the clusters are
  const outlines = L.geoJSON(null, {interactive: false,
    style: feature => ({color: "#8b1c1c", weight: feature.properties.kind === "village" ? 1 : 2,
                        fillColor: "#8b1c1c", fillOpacity: 0.04})}).addTo(map);
  const groups = L.markerClusterGroup({
    maxClusterRadius: 50, showCoverageOnHover: false, chunkedLoading: true, spiderfyOnMaxZoom: true,
    iconCreateFunction: group => {
      const states = group.getAllChildMarkers().map(m => m.options.state);
      const worst = URGENCY.find(s => states.includes(s)) || "off";
      const size = states.length < 10 ? 36 : states.length < 100 ? 42 : 50;
      return L.divIcon({html: `<span>${states.length}</span>`, className: "map-cluster " + worst,
                        iconSize: [size, size]});
    },
  }).addTo(map);

  const markers = new Map();  // cluster id -> Leaflet marker
  let names = {}, lastText = "", fitted = false, placing = null;
  const clusterUrl = id => box.dataset.cluster.replace("DEVICE", encodeURIComponent(id));

  function icon(state) {
    return L.divIcon({className: "map-marker " + state, iconSize: [24, 24], html: ""});
  }
  function tag(marker) {  // the element exists only while the marker is drawn on its own (not inside a group)
    const element = marker.getElement();
    if (element) {
      element.dataset.device = marker.options.device;
      element.dataset.state = marker.options.state;
      element.setAttribute("aria-label", marker.options.title);
    }
  }

  function draw(data) {
    const states = data.states, counts = {}, seen = new Set(), unplaced = [];
    names = {};
    outlines.clearLayers();
    for (const area of data.outlines) {
      outlines.addData({type: "Feature", geometry: area.geometry, properties: {name: area.name, kind: area.kind}});
    }
    const added = [];
    let changed = false;
    for (const [id, name, lat, lon, index] of data.clusters) {
      const state = states[index];
      names[id] = name;
      counts[state] = (counts[state] || 0) + 1;
      if (lat == null || lon == null) { unplaced.push(id); continue; }
      seen.add(id);
      const title = `${name}: ${words.states[state] || state}`;
      let marker = markers.get(id);
      if (!marker) {
        marker = L.marker([lat, lon], {icon: icon(state), title: title, device: id, state: state, keyboard: true});
        marker.on("add", () => tag(marker));
        marker.on("click", () => { if (!placing) window.location.assign(clusterUrl(id)); });
        markers.set(id, marker);
        added.push(marker);
        continue;
      }
      const moved = !marker.getLatLng().equals([lat, lon]);
      if (marker.options.state !== state || marker.options.title !== title || moved) {
        changed = true;
        marker.options.state = state;
        marker.options.title = title;
        if (moved) marker.setLatLng([lat, lon]);
        marker.setIcon(icon(state));
        tag(marker);
      }
    }
    const gone = [...markers.keys()].filter(id => !seen.has(id));
    groups.removeLayers(gone.map(id => markers.get(id)));
    gone.forEach(id => markers.delete(id));
    if (added.length) groups.addLayers(added);
    if (changed || gone.length) groups.refreshClusters();
    for (const element of document.querySelectorAll("#map-legend [data-count]")) {
      element.textContent = window.loaxaNumber(counts[element.dataset.count] || 0, 0);
    }
    document.getElementById("map-unplaced").textContent = unplaced.length
      ? say("unplaced", {n: window.loaxaNumber(unplaced.length, 0)}) : say("all_placed");
    fillChoices(data.clusters, unplaced);
    if (!fitted) fit();
  }

  function fit() {
    const focus = markers.get(box.dataset.focus);
    if (focus) { fitted = true; groups.zoomToShowLayer(focus); return; }
    const bounds = L.latLngBounds([]);
    if (outlines.getLayers().length) bounds.extend(outlines.getBounds());
    for (const marker of markers.values()) bounds.extend(marker.getLatLng());
    if (bounds.isValid()) { fitted = true; map.fitBounds(bounds, {padding: [30, 30], maxZoom: 16}); }
  }

  async function load() {
    try {
      const response = await fetch(box.dataset.url, {credentials: "same-origin"});
      if (!response.ok) throw new Error(String(response.status));
      const text = await response.text();
      if (text !== lastText) { lastText = text; draw(JSON.parse(text)); }
      box.removeAttribute("aria-busy");
    } catch (error) {
      show(say("load_failed"), false);
    }
  }

  // Placing a cluster (operators): choose it, click on the map, confirm.
  const form = document.getElementById("map-place");
  const choice = document.getElementById("map-device");
  const status = document.getElementById("map-status");
  function show(message, ok) {
    if (!status) return;
    status.textContent = message;
    status.className = ok ? "success" : "error";
    status.setAttribute("role", ok ? "status" : "alert");
  }
  function fillChoices(clusters, unplaced) {
    if (!choice) return;
    const chosen = choice.value, without = new Set(unplaced);
    const group = label => { const g = document.createElement("optgroup"); g.label = label; return g; };
    const lists = [group(words.not_placed), group(words.placed)];
    for (const [id, name] of clusters) {
      const option = new Option(`${name} (${id})`, id, false, id === chosen);
      lists[without.has(id) ? 0 : 1].append(option);
    }
    choice.replaceChildren(choice.options[0], ...lists.filter(g => g.children.length));
    choice.value = chosen;
  }
  function startPlacing() {
    placing = choice.value || null;
    box.closest(".fleet-map").classList.toggle("placing", !!placing);
    if (placing) show(say("click_map", {device: names[placing] || placing}), true);
    else if (status) { status.textContent = ""; status.className = ""; }
  }
  async function place(event) {
    if (!placing || !form) return;
    const id = placing, name = names[id] || id;
    const lat = Math.round(event.latlng.lat * 1e6) / 1e6, lon = Math.round(L.Util.wrapNum(event.latlng.lng, [-180, 180], true) * 1e6) / 1e6;
    if (!window.confirm(say("confirm", {device: name, lat: window.loaxaNumber(lat, 6), lon: window.loaxaNumber(lon, 6)}))) {
      show(say("cancelled", {device: name}), true);
      return;
    }
    const data = new FormData();
    data.append("csrf_token", form.elements["csrf_token"].value);
    data.append("lat", String(lat));
    data.append("lon", String(lon));
    try {
      const response = await fetch(form.dataset.url.replace("DEVICE", encodeURIComponent(id)),
                                   {method: "POST", body: data, credentials: "same-origin"});
      const answer = await response.json();
      if (!response.ok) { show(answer.error ? answer.error.message : say("failed"), false); return; }
      show(answer.said, true);
      choice.value = "";
      startPlacing();
      await load();
      const marker = markers.get(id);
      if (marker) groups.zoomToShowLayer(marker);
      show(answer.said, true);
    } catch (error) {
      show(say("failed"), false);
    }
  }
  if (choice) choice.addEventListener("change", startPlacing);
  map.on("click", place);

  box.setAttribute("aria-busy", "true");
  load();
  window.setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
})();
